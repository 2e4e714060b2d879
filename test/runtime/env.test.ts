import { spawnSync } from "node:child_process";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { EnvironmentError, readEnvironment } from "../../runtime/env.js";

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8888),
  LOG_FORMAT: z.enum(["text", "json"]).default("text"),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
});

describe("readEnvironment(schema)", () => {
  it("returns the typed values, defaults for what is unset or empty", () => {
    expect(readEnvironment(schema, { env: { PORT: "8080", REDIS_URL: "redis://127.0.0.1:6379", HOME: "/root" }, exit: false })).toEqual({
      PORT: 8080,
      LOG_FORMAT: "text",
      REDIS_URL: "redis://127.0.0.1:6379",
    });
    expect(readEnvironment(schema, { env: { PORT: "", LOG_FORMAT: "" }, exit: false })).toEqual({ PORT: 8888, LOG_FORMAT: "text" });
  });

  it("names every bad variable in a sentence of its own, with what it got", () => {
    const read = () => readEnvironment(schema, { env: { PORT: "eighty", LOG_FORMAT: "xml", REDIS_URL: "http://x" }, exit: false });
    expect(read).toThrow(EnvironmentError);
    let message = "";
    try {
      read();
    } catch (e) {
      message = (e as Error).message;
    }
    const lines = message.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^PORT: .+ \(got "eighty"\)\.$/);
    expect(lines[1]).toMatch(/^LOG_FORMAT: .+ \(got "xml"\)\.$/);
    expect(lines[2]).toMatch(/^REDIS_URL: .+ \(got "http:\/\/x"\)\.$/);
  });

  it("says a required variable is not set, and works with valibot too", () => {
    const required = v.object({ DATABASE_URL: v.pipe(v.string(), v.startsWith("postgres")) });
    expect(() => readEnvironment(required, { env: {}, exit: false })).toThrow(/^DATABASE_URL: .+ \(it is not set\)\.$/);
    expect(readEnvironment(required, { env: { DATABASE_URL: "postgres://x" }, exit: false })).toEqual({ DATABASE_URL: "postgres://x" });
  });

  it("by default prints the sentence and exits 1, as a user sees it at start", () => {
    const script = `import { readEnvironment } from ${JSON.stringify(new URL("../../runtime/env.ts", import.meta.url).pathname)};
import { z } from "zod";
readEnvironment(z.object({ PORT: z.coerce.number().int().max(65535) }));
console.log("not reached");`;
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, PORT: "99999" }, encoding: "utf8" });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^PORT: .+ \(got "99999"\)\.\n$/);
  });
});
