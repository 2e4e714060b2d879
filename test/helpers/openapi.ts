/**
 * A generated app's OpenAPI document, held to by real tools: the document passes an OpenAPI
 * 3.1 validator (@seriousme/openapi-schema-validator), and each answer the running app gives is
 * checked against the response the document lists for its status, with a JSON Schema validator
 * (Ajv, Draft 2020-12 as OpenAPI 3.1 uses, with ajv-formats).
 *
 * @example
 * const api = await ApiContract.ofApp(app);
 * const created = await api.call(base, "post /users", { body: { name: "Ann", email: "ann@example.com" } });
 * expect(created.status).toBe(201);
 * expect(api.uncalled()).toEqual([]);
 */

import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import { expect } from "vitest";
import { runCommand } from "./cli.js";

/** A response as an OpenAPI document lists it. */
export interface DocumentedResponse {
  description: string;
  content?: Record<string, { schema: unknown }>;
}

/** A parameter as an OpenAPI document lists it. */
export interface DocumentedParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Record<string, unknown>;
}

/** An operation as an OpenAPI document lists it. */
export interface DocumentedOperation {
  operationId: string;
  parameters?: DocumentedParameter[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, DocumentedResponse>;
}

/** The parts of an OpenAPI 3.1 document these tests read. */
export interface OpenAPIDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, DocumentedOperation>>;
  components?: { schemas?: Record<string, unknown> };
}

/** A request to one documented operation (`"get /users/{id}"`). */
export interface ContractRequest {
  /** Values for the path's `{name}` parameters. */
  path?: Record<string, string>;
  /** Query arguments. */
  query?: Record<string, string>;
  /** A JSON body (sent as application/json), or a string sent as `contentType`. */
  body?: unknown;
  /** The Content-Type of a string body. Default application/json. */
  contentType?: string;
}

/** What an answer was, once checked against the document. */
export interface ContractAnswer {
  status: number;
  /** The parsed JSON body (undefined when the documented response has no content). */
  body: unknown;
  headers: Headers;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
// The document's own URI, so that "#/components/schemas/Error" resolves inside it.
const DOCUMENT_ID = "https://tornado.invalid/openapi.json";

/**
 * Checks a running app against its OpenAPI document: every call's status must be one the
 * operation lists, and its body must match that response's schema.
 *
 * @example
 * const api = await ApiContract.ofApp(app);
 * await api.call(base, "get /health");
 */
export class ApiContract {
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly called = new Set<string>();
  private readonly answered = new Set<string>();

  constructor(readonly doc: OpenAPIDocument) {
    // strict: the document's schemas use no keyword Ajv does not know; the document's own
    // fields (openapi, info, paths, ...) are declared so that it can hold them.
    this.ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false });
    // ajv-formats is CommonJS: under NodeNext its default export is module.exports.
    (formats as unknown as { default: (ajv: Ajv2020) => void }).default(this.ajv);
    this.ajv.addVocabulary(["openapi", "info", "servers", "paths", "components", "tags", "webhooks", "externalDocs", "jsonSchemaDialect", "security"]);
    this.ajv.addSchema({ ...(doc as unknown as Record<string, unknown>), $id: DOCUMENT_ID });
  }

  /**
   * The app's document as `npm run openapi` prints it, after checking that it is valid
   * OpenAPI 3.1 (the test fails, listing the validator's errors, when it is not).
   *
   * @example
   * const api = await ApiContract.ofApp("/tmp/my-api");
   */
  static async ofApp(app: string): Promise<ApiContract> {
    const printed = await runCommand("npm", ["run", "--silent", "openapi"], app);
    expect(printed.code, printed.stderr).toBe(0);
    const doc = JSON.parse(printed.stdout) as OpenAPIDocument;
    const checked = await new Validator().validate(doc as unknown as Parameters<Validator["validate"]>[0]);
    expect(checked.errors, "the OpenAPI 3.1 validator's errors").toBeUndefined();
    expect(checked.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
    return new ApiContract(doc);
  }

  /** Every operation of the document, as `"get /users/{id}"`. @example api.operations() // ["get /health", …] */
  operations(): string[] {
    return Object.entries(this.doc.paths).flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((method) => `${method} ${path}`));
  }

  /** The operation `key` ("get /users/{id}"); the test fails if the document has none. @example api.operation("post /users").requestBody */
  operation(key: string): DocumentedOperation {
    const [method, path] = splitKey(key);
    const operation = this.doc.paths[path]?.[method];
    expect(operation, `the document lists ${key}`).toBeDefined();
    return operation!;
  }

  /** The operations no `call` has reached yet. @example expect(api.uncalled()).toEqual([]) */
  uncalled(): string[] {
    return this.operations().filter((key) => !this.called.has(key));
  }

  /**
   * The documented answers no `call` has seen yet, as `"post /users 507"`.
   *
   * @example
   * expect(api.unanswered()).toEqual(["post /users 507"]);
   */
  unanswered(): string[] {
    return this.operations().flatMap((key) => Object.keys(this.operation(key).responses).map((status) => `${key} ${status}`)).filter((answer) => !this.answered.has(answer));
  }

  /**
   * Sends `request` to the operation `key` on the app at `base`, and checks the answer: its
   * status is one the operation lists, and its body (JSON, of the listed media type) matches
   * that response's schema. The test fails with Ajv's errors otherwise.
   *
   * @example
   * const { status, body } = await api.call(base, "get /users/{id}", { path: { id: "1" } });
   */
  async call(base: string, key: string, request: ContractRequest = {}): Promise<ContractAnswer> {
    const [method, path] = splitKey(key);
    const operation = this.operation(key);
    this.called.add(key);
    let url = base + path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = request.path?.[name];
      if (value === undefined) throw new Error(`${key}: no value for the path parameter ${name}`);
      return encodeURIComponent(value);
    });
    if (request.query) url += `?${new URLSearchParams(request.query)}`;
    const init: RequestInit = { method: method.toUpperCase() };
    if (request.body !== undefined) {
      init.headers = { "Content-Type": request.contentType ?? "application/json" };
      init.body = typeof request.body === "string" ? request.body : JSON.stringify(request.body);
    }
    const res = await fetch(url, init);
    const text = await res.text();
    const what = `${key} answered ${res.status} ${text.slice(0, 300)}`;
    expect(Object.keys(operation.responses), `${what}: a status the document lists`).toContain(String(res.status));
    const documented = operation.responses[String(res.status)]!;
    this.answered.add(`${key} ${res.status}`);
    if (!documented.content) {
      if (res.status === 204) expect(text, what).toBe("");
      return { status: res.status, body: undefined, headers: res.headers };
    }
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    expect(Object.keys(documented.content), `${what}: a media type the document lists`).toContain(mediaType);
    const body: unknown = JSON.parse(text);
    const validate = this.validator(path, method, String(res.status), mediaType);
    const valid = validate(body);
    expect(valid ? [] : describeErrors(validate.errors ?? []), `${what}: its body matches the documented schema`).toEqual([]);
    return { status: res.status, body, headers: res.headers };
  }

  /**
   * Requests to `key` that its parameters' schemas refuse, one per parameter: a value the
   * parameter's JSON Schema rejects (checked with Ajv, coercing as the runtime does), chosen
   * from a few usual suspects. `valid` fills in the rest of the request.
   *
   * @example
   * for (const bad of api.refusedParameters("get /users", {})) expect((await api.call(base, "get /users", bad)).status).toBe(400);
   */
  refusedParameters(key: string, valid: ContractRequest): { parameter: string; request: ContractRequest }[] {
    const out: { parameter: string; request: ContractRequest }[] = [];
    const coercing = new Ajv2020({ coerceTypes: true, strict: false });
    (formats as unknown as { default: (ajv: Ajv2020) => void }).default(coercing);
    for (const parameter of this.operation(key).parameters ?? []) {
      if (parameter.in !== "path" && parameter.in !== "query") continue;
      const check = coercing.compile(parameter.schema ?? {});
      // An empty path segment would match no route at all (a 404, not the parameter's 400).
      const candidates = ["abc", "-1", "0", "1.5", "", "x".repeat(300), "99999999999999999999"].filter((c) => c !== "" || parameter.in !== "path");
      const refused = candidates.find((candidate) => !check(candidate));
      if (refused === undefined) continue;
      const request = { ...valid, [parameter.in]: { ...valid[parameter.in], [parameter.name]: refused } };
      out.push({ parameter: `${parameter.in}.${parameter.name}`, request });
    }
    return out;
  }

  /**
   * Sends `key` each request its document says it refuses, built from `valid` (a request it
   * accepts), and checks each answer against the document as `call` does: a body with a field
   * too many (400 naming `body.<field>`), a body whose first field has the wrong type (400
   * naming it), a body that is not JSON (415), each parameter with a value its schema refuses
   * (400 naming `query.<name>` or `path.<name>`), and, when the operation lists a 404, the path
   * parameters in `missing` (404).
   *
   * @example
   * await api.callRefused(base, "put /users/{id}", { path: { id }, body: user }, { missing: { id: "999999" } });
   */
  async callRefused(base: string, key: string, valid: ContractRequest, { missing }: { missing?: Record<string, string> } = {}): Promise<void> {
    const issues = (answer: ContractAnswer) => (answer.body as { error?: { issues?: { location: string }[] } }).error?.issues?.map((issue) => issue.location);
    const operation = this.operation(key);
    if (operation.requestBody) {
      const body = valid.body as Record<string, unknown>;
      const extra = await this.call(base, key, { ...valid, body: { ...body, unexpectedField: true } });
      expect(extra.status, `${key} with a field too many`).toBe(400);
      expect(issues(extra), `${key} with a field too many`).toEqual(["body.unexpectedField"]);
      const [first, value] = Object.entries(body)[0]!;
      const wrongType = await this.call(base, key, { ...valid, body: { ...body, [first]: typeof value === "string" ? 5 : "5" } });
      expect(wrongType.status, `${key} with ${first} of the wrong type`).toBe(400);
      expect(issues(wrongType), `${key} with ${first} of the wrong type`).toEqual([`body.${first}`]);
      const form = await this.call(base, key, { ...valid, body: "a=1", contentType: "application/x-www-form-urlencoded" });
      expect(form.status, `${key} with a form body`).toBe(415);
    }
    for (const { parameter, request } of this.refusedParameters(key, valid)) {
      const answer = await this.call(base, key, request);
      expect(answer.status, `${key} with a bad ${parameter}`).toBe(400);
      expect(issues(answer), `${key} with a bad ${parameter}`).toEqual([parameter]);
    }
    if (missing && operation.responses["404"]) {
      expect((await this.call(base, key, { ...valid, path: { ...valid.path, ...missing } })).status, `${key} for ${JSON.stringify(missing)}`).toBe(404);
    }
  }

  private validator(path: string, method: string, status: string, mediaType: string): ValidateFunction {
    const pointer = ["paths", path, method, "responses", status, "content", mediaType, "schema"].map((p) => encodeURIComponent(p.replaceAll("~", "~0").replaceAll("/", "~1"))).join("/");
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#/${pointer}` });
      this.validators.set(pointer, validate);
    }
    return validate;
  }
}

function splitKey(key: string): [string, string] {
  const space = key.indexOf(" ");
  return [key.slice(0, space), key.slice(space + 1)];
}

function describeErrors(errors: ErrorObject[]): string[] {
  return errors.map((e) => `${e.instancePath || "(body)"} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}
