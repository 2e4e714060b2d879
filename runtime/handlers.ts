/**
 * Ready-made handlers, as Tornado's `tornado.web` has them: `StaticFileHandler` serves a
 * directory (and the `staticPath` setting mounts one at `/static/`).
 *
 * @example
 * import { Application } from "tornado";
 * import { StaticFileHandler } from "tornado/handlers";
 * new Application([
 *   ["/docs/(.*)", StaticFileHandler, { path: "./site", defaultFilename: "index.html" }],
 * ], { staticPath: "./public" });
 */
export {
  StaticFileHandler,
  type StaticContent,
  type StaticFileHandlerArgs,
  type StaticUrlOptions,
} from "./handlers/static.js";
