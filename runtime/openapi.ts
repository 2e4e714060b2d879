/**
 * OpenAPI 3.1 from the route table and the handlers' schemas (`withSchemas`):
 * `openApiDocument(app)`, and the `openapi` setting that serves it at `/openapi.json` with a
 * docs page at `/docs`.
 *
 * @example
 * import { openApiDocument } from "tornado/openapi";
 * console.log(JSON.stringify(openApiDocument(makeApp(), { title: "Users API", version: "1.0.0" }), null, 2));
 */
export { openApiDocument, type OpenAPIOptions } from "./openapi/document.js";
