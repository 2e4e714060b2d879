/** The routes that the `staticPath` setting adds to an `Application`. */

import type { RouteSpec } from "../routing.js";
import { registerStaticFiles, type ApplicationSettings } from "../web/application.js";
import { StaticFileHandler } from "./static.js";

// Route patterns are regular expressions (where `/:name` is a parameter): a prefix is literal.
function escapeRoutePattern(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}:]/g, "\\$&");
}

/**
 * The routes the `staticPath` setting puts in front of an application's own, as Tornado does:
 * `staticUrlPrefix` (default `/static/`) + anything, `/favicon.ico` and `/robots.txt`, all
 * served from `staticPath` by `staticHandlerClass` with `staticHandlerArgs`. None without
 * `staticPath`.
 */
export function staticRoutes(settings: ApplicationSettings): RouteSpec[] {
  if (!settings.staticPath) return [];
  const handlerClass = settings.staticHandlerClass ?? StaticFileHandler;
  const initArgs = { ...settings.staticHandlerArgs, path: settings.staticPath };
  const prefix = settings.staticUrlPrefix ?? "/static/";
  return [
    ["/(robots\\.txt)", handlerClass, initArgs],
    ["/(favicon\\.ico)", handlerClass, initArgs],
    [`${escapeRoutePattern(prefix)}(.*)`, handlerClass, initArgs],
  ];
}

registerStaticFiles({ handlerClass: StaticFileHandler, routes: staticRoutes });
