import type { Database } from "tornado/db";
import { ReadinessHandler } from "tornado/handlers";
import type { HTTPServerOptions } from "tornado/httpserver";
import { Application, type ApplicationSettings, url } from "tornado/web";
import { NotFoundHandler } from "./handlers/base.js";
import { HealthHandler } from "./handlers/health.js";
import { UserHandler, UsersHandler } from "./handlers/users.js";

/** Settings this app's handlers read, on top of the runtime's own. */
export interface AppSettings extends ApplicationSettings {
  /**
   * The database (`openDatabase()` from tornado/db: PostgreSQL at DATABASE_URL, else the embedded
   * one in .tornado/db). src/main.ts opens it; tests pass one of their own.
   */
  db?: Database;
  /** Origins allowed to call the API from a browser; "*" allows any. Default: CORS_ORIGINS, or "*". */
  corsOrigins?: string[];
}

/**
 * What the server accepts from a client, for `src/main.ts` and the tests. A user is a few
 * hundred bytes of JSON: 1 MiB is plenty, and a larger body gets a 413 before it is read, so a
 * client cannot make the server hold or parse megabytes.
 *
 * @example
 * const server = await makeApp().listen(8888, undefined, serverOptions);
 */
export const serverOptions: HTTPServerOptions = { maxBodySize: 1024 * 1024 };

/** Builds the application: its routes, and settings (tests pass their own). */
export function makeApp({ corsOrigins = originsFromEnv(), ...settings }: AppSettings = {}): Application {
  return new Application(
    [
      url("/health", HealthHandler, { name: "health" }),
      // Ready for traffic: the database reachable (migrations ran before listening), not shutting down.
      url("/ready", ReadinessHandler, {
        name: "ready",
        initArgs: { checks: { database: () => readiness(settings.db) } },
      }),
      url("/users", UsersHandler, { name: "users" }),
      url("/users/:id", UserHandler, { name: "user" }),
    ],
    {
      // Browsers may call the API from these origins; preflights are answered for every route.
      cors: {
        origins: corsOrigins.includes("*") ? "*" : corsOrigins,
        headers: ["Content-Type", "Authorization"],
        maxAge: 600,
      },
      defaultHandlerClass: NotFoundHandler,
      // The API's description at /openapi.json, built from the handlers' schemas; the docs page
      // at /docs (swagger-ui-dist, a devDependency) everywhere but production.
      openapi: { title: "Users API", version: "0.1.0", docs: process.env.NODE_ENV !== "production" },
      ...settings,
    },
  );
}

/** CORS_ORIGINS: comma-separated origins, or "*" (the default) for any. */
function originsFromEnv(): string[] {
  return (process.env.CORS_ORIGINS ?? "*").split(",").map((origin) => origin.trim());
}

// The readiness check of the database: a query that answers.
async function readiness(db: Database | undefined): Promise<true | string> {
  if (db === undefined) return "no database";
  await db.query("SELECT 1");
  return true;
}
