/**
 * The web framework, as Tornado's `tornado.web`: `Application`, `RequestHandler`, routes and
 * the errors handlers throw.
 *
 * @example
 * import { Application, RequestHandler, HTTPError, url } from "tornado/web";
 * class Hello extends RequestHandler {
 *   get(name: string) { this.write(`Hello, ${name}`); }
 * }
 * await new Application([url("/hello/:name", Hello)]).listen(8888);
 */
export { Application, ErrorHandler, type ApplicationSettings } from "./web/application.js";
export type { MetricsOptions } from "./metrics/process.js";
// Loaded for its effect: registers the routes of the staticPath setting with Application.
import "./handlers/routes.js";
export type { CorsOptions } from "./web/cors.js";
export { Finish, HTTPError, MissingArgumentError, type HTTPErrorOptions } from "./web/errors.js";
export { RequestHandler, type Chunk, type ErrorDetails, type HandlerClass } from "./web/handler.js";
export { streamRequestBody } from "./web/handler/stream.js";
export { URLSpec, url, type RouteSpec, type URLSpecOptions } from "./routing.js";
export { addslash, authenticated, removeslash, type HandlerMethod } from "./web/auth.js";
export { parseCookie, type ClearCookieOptions, type CookieOptions } from "./web/cookies.js";
export {
  createSignedValue,
  decodeSignedValue,
  getSignatureKeyVersion,
  type CookieSecret,
  type CreateSignedValueOptions,
  type DecodeSignedValueOptions,
} from "./web/signing.js";
export {
  withSchemas,
  schemasOf,
  type HandlerSchemas,
  type SchemaHandlerClass,
  type SchemaHandlerMethods,
  type SchemaMethod,
  type ValidRequest,
} from "./web/schema/handler.js";
export { RequestValidationError, type ValidationIssue } from "./web/schema/issues.js";
export type { MethodSchemas, ResponseSpec } from "./web/schema/validate.js";
export type { JSONSchema, JSONSchemaSetting } from "./web/schema/jsonschema.js";
export type { StandardSchemaV1, JSONSchemaConverter } from "./web/schema/standard.js";
