/**
 * Ready-made handlers, as Tornado's `tornado.web` has them: `StaticFileHandler` serves a
 * directory (and the `staticPath` setting mounts one at `/static/`), `RedirectHandler` sends
 * clients elsewhere, `ErrorHandler` answers with a fixed error status, and `FallbackHandler`
 * mounts a node `(req, res)` listener, such as an Express app.
 *
 * @example
 * import { Application } from "tornado";
 * import { StaticFileHandler, RedirectHandler, FallbackHandler } from "tornado/handlers";
 * new Application([
 *   ["/docs/(.*)", StaticFileHandler, { path: "./site", defaultFilename: "index.html" }],
 *   ["/old/(.*)", RedirectHandler, { url: "/new/{0}" }],
 *   ["/legacy/.*", FallbackHandler, { fallback: expressApp }],
 * ], { staticPath: "./public" });
 */
export {
  StaticFileHandler,
  type StaticContent,
  type StaticFileHandlerArgs,
  type StaticUrlOptions,
} from "./handlers/static.js";
export { RedirectHandler, type RedirectHandlerArgs } from "./handlers/redirect.js";
export { FallbackHandler, type FallbackHandlerArgs, type NodeRequestListener } from "./handlers/fallback.js";
export { ErrorHandler } from "./web/application.js";
export { ReadinessHandler, type ReadinessCheck, type ReadinessHandlerArgs } from "./handlers/readiness.js";
