import { Application, url, type ApplicationSettings } from "tornado";
import { NotFoundHandler } from "./handlers/base.js";
import { HealthHandler } from "./handlers/health.js";
import { UserHandler, UsersHandler } from "./handlers/users.js";
import { UserStore } from "./store.js";

/** Settings this app's handlers read, on top of the runtime's own. */
export interface AppSettings extends ApplicationSettings {
  users?: UserStore;
  /** Origins allowed to call the API from a browser; "*" allows any. */
  corsOrigins?: string[];
}

/** Builds the application: its routes, and settings (tests pass their own). */
export function makeApp(settings: AppSettings = {}): Application {
  return new Application(
    [
      url("/health", HealthHandler, { name: "health" }),
      url("/users", UsersHandler, { name: "users" }),
      url("/users/:id", UserHandler, { name: "user" }),
    ],
    {
      users: new UserStore(),
      corsOrigins: (process.env.CORS_ORIGINS ?? "*").split(",").map((origin) => origin.trim()),
      defaultHandlerClass: NotFoundHandler,
      ...settings,
    },
  );
}
