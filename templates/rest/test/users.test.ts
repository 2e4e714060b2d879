import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestServer, type TestServer } from "tornado/testing";
import { makeApp } from "../src/app.js";
import type { User } from "../src/store.js";

let t: TestServer;
beforeEach(async () => {
  t = await createTestServer(makeApp({ corsOrigins: ["https://app.example"] }));
});
afterEach(() => t.close());

const post = (path: string, body: unknown, method = "POST") =>
  t.fetch(path, { method, headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

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
    const res = await post("/users", { name: "Ann", email: "not-an-email" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { status: 400, message: "email: must be an email address", field: "email" } });
    expect((await t.fetch("/users?limit=0")).status).toBe(400);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const res = await post("/users", "{oops");
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(error.message).toMatch(/^Invalid JSON body/);
  });

  it("updates with PUT and PATCH, and deletes", async () => {
    await post("/users", { name: "Ann", email: "ann@example.com" });
    expect(await (await post("/users/1", { name: "Anne", email: "anne@example.com" }, "PUT")).json()).toMatchObject({ name: "Anne" });
    expect(await (await post("/users/1", { email: "a@example.org" }, "PATCH")).json()).toMatchObject({ name: "Anne", email: "a@example.org" });
    expect((await t.fetch("/users/1", { method: "DELETE" })).status).toBe(204);
    expect((await t.fetch("/users/1")).status).toBe(404);
  });

  it("answers 404 for an unknown id", async () => {
    const res = await t.fetch("/users/999");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { status: 404, message: "no user with id 999" } });
  });

  it("answers CORS preflight requests for allowed origins", async () => {
    const res = await t.fetch("/users", { method: "OPTIONS", headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    const other = await t.fetch("/users", { headers: { Origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
