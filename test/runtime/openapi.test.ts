// OpenAPI 3.1 from the route table and the schemas (issue 15): the document passes a real
// OpenAPI 3.1 validator, and the openapi setting serves /openapi.json and /docs with no CDN.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { type } from "arktype";
import * as v from "valibot";
import { toJsonSchema } from "@valibot/to-json-schema";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Application, RequestHandler, createTestServer, expectLog, openApiDocument, url, withSchemas, type TestServer } from "../../runtime/index.js";

const User = z.object({ id: z.number().int(), name: z.string(), email: z.email() });
const Tree: z.ZodType<{ name: string; children: unknown[] }> = z.object({ name: z.string(), get children() { return z.array(Tree); } });

class Users extends withSchemas({
  get: { query: z.object({ limit: z.number().int().max(100).optional() }), responses: { 200: z.array(User) }, summary: "List users", tags: ["users"] },
  post: { body: User.omit({ id: true }), responses: { 201: User }, tags: ["users"] },
}) {
  get() { this.write([]); }
  post() { this.setStatus(201); this.write({ id: 1, ...this.valid("post").body }); }
}
class OneUser extends withSchemas({
  get: { path: z.object({ id: z.number().int() }), responses: { 200: User, 404: { description: "No such user" } } },
  delete: { path: z.object({ id: z.number().int() }), responses: { 204: { description: "Deleted" } } },
}) {
  get() { this.write({ id: this.valid("get").path.id, name: "a", email: "a@b.co" }); }
  delete() { this.setStatus(204); }
}
class Trees extends withSchemas({ post: { body: Tree, headers: z.object({ "x-request-id": z.string() }) } }) {
  post() { this.write({ ok: true }); }
}
class VItems extends withSchemas({ post: { body: v.object({ name: v.string() }) } }) {
  post() { this.write({}); }
}
class AItems extends withSchemas({ put: { body: type({ name: "string", "tags?": "string[]" }) } }) {
  put() { this.write({}); }
}
class Plain extends RequestHandler {
  get(_year: string) { this.write("plain"); }
}

function makeApp(settings: Record<string, unknown> = {}) {
  return new Application(
    [
      url("/users", Users, { name: "users" }),
      url("/users/:id", OneUser, { name: "user" }),
      ["/trees", Trees],
      ["/v/items", VItems],
      ["/a/items", AItems],
      ["/archive/(\\d{4})", Plain],
      ["/files/.*", Plain],
    ],
    { jsonSchema: (schema: any) => (schema["~standard"].vendor === "valibot" ? toJsonSchema(schema) : undefined), ...settings },
  );
}

describe("openApiDocument(app, options)", () => {
  const doc = openApiDocument(makeApp(), { title: "Users API", version: "1.2.3" }) as any;

  it("passes an OpenAPI 3.1 validator", async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toEqual({ title: "Users API", version: "1.2.3" });
  });

  it("has paths from :id and regex groups, and leaves out what is not a path", () => {
    expect(Object.keys(doc.paths)).toEqual(["/users", "/users/{id}", "/trees", "/v/items", "/a/items", "/archive/{0}"]);
    expect(doc.paths["/archive/{0}"].get.parameters).toEqual([{ name: "0", in: "path", required: true, schema: { type: "string" } }]);
  });

  it("names operations after their routes and lists parameters, bodies, responses, errors and tags", () => {
    const list = doc.paths["/users"].get;
    expect(list.operationId).toBe("getUsers");
    expect(list.summary).toBe("List users");
    expect(list.tags).toEqual(["users"]);
    expect(list.parameters).toEqual([{ name: "limit", in: "query", required: false, schema: expect.objectContaining({ type: "integer", maximum: 100 }) }]);
    expect(list.responses["200"].content["application/json"].schema.type).toBe("array");
    expect(list.responses["400"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    const create = doc.paths["/users"].post;
    expect(create.requestBody.content["application/json"].schema.required).toEqual(["name", "email"]);
    expect(create.responses["201"].content["application/json"].schema.properties.id.type).toBe("integer");
    expect(doc.paths["/users/{id}"].get.operationId).toBe("getUser");
    expect(doc.paths["/users/{id}"].get.parameters[0]).toMatchObject({ name: "id", in: "path", required: true, schema: { type: "integer" } });
    expect(doc.paths["/users/{id}"].get.responses["404"]).toEqual({ description: "No such user" });
    expect(doc.paths["/users/{id}"].delete.responses["204"]).toEqual({ description: "Deleted" });
    expect(doc.tags).toEqual([{ name: "users" }]);
  });

  it("moves recursive schemas' $defs to components, and converts valibot and arktype schemas", () => {
    const trees = doc.paths["/trees"].post;
    expect(trees.parameters).toEqual([{ name: "x-request-id", in: "header", required: true, schema: { type: "string" } }]);
    expect(JSON.stringify(trees)).not.toContain("$defs");
    expect(doc.paths["/v/items"].post.requestBody.content["application/json"].schema).toMatchObject({ type: "object", required: ["name"] });
    expect(doc.paths["/a/items"].put.requestBody.content["application/json"].schema).toMatchObject({ type: "object", required: ["name"] });
  });
});

describe("the openapi setting", () => {
  let server: TestServer | undefined;
  afterAll(() => server?.close());

  it("serves /openapi.json and a /docs page whose assets come from node_modules", async () => {
    server = await createTestServer(makeApp({ openapi: { title: "Users API", version: "1.0.0" } }));
    const res = await server.fetch("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    const doc: any = await res.json();
    expect(doc.info.title).toBe("Users API");
    expect(Object.keys(doc.paths)).not.toContain("/openapi.json");
    const page = await server.fetch("/docs");
    const html = await page.text();
    expect(html).toContain('<script src="/docs/swagger-ui-bundle.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await server.fetch("/docs/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await server.fetch("/docs/init.js")).status).toBe(200);
    const other = await expectLog("tornado.access", /^404 GET \/docs\/package\.json/, () => server!.fetch("/docs/package.json"));
    expect(other.status).toBe(404);
  });

  it("answers 501 naming the package to install when swagger-ui-dist is missing", async () => {
    const empty = mkdtempSync(join(tmpdir(), "openapi-"));
    const t = await createTestServer(makeApp({ openapi: { assetsFrom: empty } }));
    try {
      const res = await expectLog("tornado.access", /^501 GET \/docs/, () => t.fetch("/docs"));
      expect(res.status).toBe(501);
      expect(await res.text()).toContain("npm install swagger-ui-dist");
    } finally {
      await t.close();
      rmSync(empty, { recursive: true });
    }
  });
});
