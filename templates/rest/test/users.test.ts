import { type Database, migrate, openDatabase } from "tornado/db";
import { createTestServer, type TestServer } from "tornado/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeApp, serverOptions } from "../src/app.js";
import type { User } from "../src/repositories/users.js";
import { expectRefused } from "./support.js";

// The tests run against the app's real database (DATABASE_URL, or the embedded one), in a schema
// of their own that every migration is applied to, dropped at the end.
const schema = `test_users_${process.pid}`;
let db: Database;
let t: TestServer;

beforeAll(async () => {
  db = openDatabase({ schema });
  await migrate({ database: db, schema, log: () => {} });
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db?.close();
});
beforeEach(async () => {
  await db.query("TRUNCATE users RESTART IDENTITY CASCADE");
  t = await createTestServer(makeApp({ db, corsOrigins: ["https://app.example"] }), serverOptions);
});
afterEach(() => t.close());

const post = (path: string, body: unknown, method = "POST") =>
  t.fetch(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("/users", () => {
  it("creates a user and reads it back", async () => {
    const created = await post("/users", { name: "Ann", email: "ann@example.com" });
    expect(created.status).toBe(201);
    const user = (await created.json()) as User;
    expect(user).toMatchObject({ id: "1", name: "Ann", email: "ann@example.com" });
    expect(created.headers.get("location")).toBe("/users/1");
    expect(await (await t.fetch("/users/1")).json()).toEqual(user);
  });

  it("lists users a page at a time", async () => {
    for (const name of ["a", "b", "c"]) await post("/users", { name, email: `${name}@example.com` });
    const page = (await (await t.fetch("/users?limit=2&offset=1")).json()) as { items: User[]; total: number };
    expect(page.items.map((u) => u.name)).toEqual(["b", "c"]);
    expect(page).toMatchObject({ total: 3, limit: 2, offset: 1 });
  });

  it("answers 400 naming the bad field", async () => {
    const res = await expectRefused("400 POST /users", () => post("/users", { name: "Ann", email: "not-an-email" }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        status: 400,
        message: "Invalid request",
        issues: [{ location: "body.email", message: "must be an email address" }],
      },
    });
    const limit = await expectRefused("400 GET /users?limit=0", () => t.fetch("/users?limit=0"));
    expect(limit.status).toBe(400);
    expect(
      ((await limit.json()) as { error: { issues: { location: string }[] } }).error.issues.map((i) => i.location),
    ).toEqual(["query.limit"]);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const res = await expectRefused("400 POST /users", () => post("/users", "{oops"));
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(error.message).toMatch(/^Invalid JSON body/);
  });

  it("updates with PUT and PATCH, and deletes", async () => {
    await post("/users", { name: "Ann", email: "ann@example.com" });
    expect(await (await post("/users/1", { name: "Anne", email: "anne@example.com" }, "PUT")).json()).toMatchObject({
      name: "Anne",
    });
    expect(await (await post("/users/1", { email: "a@example.org" }, "PATCH")).json()).toMatchObject({
      name: "Anne",
      email: "a@example.org",
    });
    expect((await t.fetch("/users/1", { method: "DELETE" })).status).toBe(204);
    expect((await expectRefused("404 GET /users/1", () => t.fetch("/users/1"))).status).toBe(404);
  });

  it("answers 404 for an unknown id", async () => {
    const res = await expectRefused("404 GET /users/999", () => t.fetch("/users/999"));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { status: 404, message: "no user with id 999" } });
  });

  it("answers CORS preflight requests for allowed origins", async () => {
    const res = await t.fetch("/users", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    const other = await t.fetch("/users", { headers: { Origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("limits", () => {
  const refusal = async (res: Response) => ({ status: res.status, body: await res.json() });

  it("takes a name of 100 characters and an email of 254, and refuses one more of either", async () => {
    const email254 = `${"a".repeat(64)}@${"b".repeat(185)}.com`;
    expect(email254).toHaveLength(254);
    expect((await post("/users", { name: "n".repeat(100), email: email254 })).status).toBe(201);
    const longName = await expectRefused("400 POST /users", () =>
      post("/users", { name: "n".repeat(101), email: "ann@example.com" }),
    );
    expect(await refusal(longName)).toEqual({
      status: 400,
      body: {
        error: {
          status: 400,
          message: "Invalid request",
          issues: [{ location: "body.name", message: "must be at most 100 characters" }],
        },
      },
    });
    const longEmail = await expectRefused("400 POST /users", () =>
      post("/users", { name: "Ann", email: `a${email254}` }),
    );
    expect(await refusal(longEmail)).toEqual({
      status: 400,
      body: {
        error: {
          status: 400,
          message: "Invalid request",
          issues: [{ location: "body.email", message: "must be at most 254 characters" }],
        },
      },
    });
  });

  it("refuses an email built to make a pattern backtrack by its length, before any pattern sees it", async () => {
    // "a@" + 50,000 dots + "@": a pattern with two overlapping `+` takes seconds over it.
    const res = await expectRefused("400 POST /users", () =>
      post("/users", { name: "Ann", email: `a@${".".repeat(50_000)}@` }),
    );
    expect(await refusal(res)).toEqual({
      status: 400,
      body: {
        error: {
          status: 400,
          message: "Invalid request",
          issues: [{ location: "body.email", message: "must be at most 254 characters" }],
        },
      },
    });
  });

  it("refuses odd emails within the length limit", async () => {
    for (const email of ["a@b", "a@.com", "a@b..com", "a@b.com.", "a b@c.com", "a@b@c.com", `a@${".".repeat(250)}@`]) {
      const res = await expectRefused("400 POST /users", () => post("/users", { name: "Ann", email }));
      expect(await refusal(res), email).toEqual({
        status: 400,
        body: {
          error: {
            status: 400,
            message: "Invalid request",
            issues: [{ location: "body.email", message: "must be an email address" }],
          },
        },
      });
    }
  });

  it("reads a body of 1 MiB (serverOptions.maxBodySize) and answers 413 to a larger one without reading it", async () => {
    const user = JSON.stringify({ name: "Ann", email: "ann@example.com" });
    const atLimit = user + " ".repeat(1024 * 1024 - user.length);
    expect((await post("/users", atLimit)).status).toBe(201);
    const over = await expectRefused("413 POST /users", () => post("/users", `${atLimit} `));
    expect(over.status).toBe(413);
    expect((await (await t.fetch("/users")).json()) as { total: number }).toMatchObject({ total: 1 });
  });

  it("keeps users in the database, where another process's pool sees them", async () => {
    const created = (await (await post("/users", { name: "Ann", email: "ann@example.com" })).json()) as User;
    // A second app with a pool of its own, as a second worker process or host has.
    const other = openDatabase({ schema });
    const second = await createTestServer(makeApp({ db: other }), serverOptions);
    try {
      expect(await (await second.fetch(`/users/${created.id}`)).json()).toEqual(created);
      expect((await second.fetch(`/users/${created.id}`, { method: "DELETE" })).status).toBe(204);
      expect((await expectRefused(`404 GET /users/${created.id}`, () => t.fetch(`/users/${created.id}`))).status).toBe(
        404,
      );
    } finally {
      await second.close();
      await other.close();
    }
  });

  it("answers 409 to deleting a user that other rows still reference, and keeps the user", async () => {
    const { id } = (await (await post("/users", { name: "Ann", email: "ann@example.com" })).json()) as User;
    // A table of the kind `generate resource orders ... user:references` makes.
    await db.query(
      "CREATE TABLE IF NOT EXISTS notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id))",
    );
    await db.query("INSERT INTO notes (user_id) VALUES ($1)", [id]);
    const res = await expectRefused(`409 DELETE /users/${id}`, () => t.fetch(`/users/${id}`, { method: "DELETE" }));
    expect(await res.json()).toEqual({
      error: { status: 409, message: `user ${id} is still referenced by other rows: delete those first` },
    });
    expect((await t.fetch(`/users/${id}`)).status).toBe(200);
    await db.query("DROP TABLE notes");
  });

  it("refuses an unknown field, naming at most 60 characters of it", async () => {
    const admin = await expectRefused("400 POST /users", () =>
      post("/users", { name: "Ann", email: "ann@example.com", admin: true }),
    );
    expect(await refusal(admin)).toEqual({
      status: 400,
      body: {
        error: {
          status: 400,
          message: "Invalid request",
          issues: [{ location: "body.admin", message: "Unknown field" }],
        },
      },
    });
    const field = "x".repeat(10_000);
    const res = await expectRefused("400 POST /users", () =>
      post("/users", { name: "Ann", email: "ann@example.com", [field]: 1 }),
    );
    expect(await refusal(res)).toEqual({
      status: 400,
      body: {
        error: {
          status: 400,
          message: "Invalid request",
          issues: [{ location: `body.${"x".repeat(55)}…`, message: "Unknown field" }],
        },
      },
    });
  });

  it("lists every bad field of a request at once", async () => {
    const res = await expectRefused("400 POST /users", () => post("/users", { name: " ", email: 7 }));
    const { error } = (await res.json()) as { error: { issues: { location: string }[] } };
    expect(error.issues.map((i) => i.location).sort()).toEqual(["body.email", "body.name"]);
  });

  it("takes ?limit= from 1 to 100 and refuses 101", async () => {
    expect((await t.fetch("/users?limit=100")).status).toBe(200);
    expect((await t.fetch("/users?limit=1")).status).toBe(200);
    const res = await expectRefused("400 GET /users?limit=101", () => t.fetch("/users?limit=101"));
    expect(
      ((await res.json()) as { error: { issues: { location: string }[] } }).error.issues.map((i) => i.location),
    ).toEqual(["query.limit"]);
  });

  it("refuses a malformed user id with a 400, before looking it up", async () => {
    const res = await expectRefused("400 GET /users/abc", () => t.fetch("/users/abc"));
    expect(await refusal(res)).toEqual({
      status: 400,
      body: {
        error: {
          status: 400,
          message: "Invalid request",
          issues: [{ location: "path.id", message: "must be a user id (digits)" }],
        },
      },
    });
  });
});
