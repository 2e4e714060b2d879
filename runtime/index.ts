/**
 * The `tornado` package: everything a user imports, from one place. Each name also comes
 * from its module's subpath (`tornado/web`, `tornado/httpserver`, …).
 *
 * @example
 * import { Application, RequestHandler, HTTPError, url, HTTPServer } from "tornado";
 */
export * from "./web.js";
export {
  AnyMatches,
  DefaultHostMatches,
  HostMatches,
  PathMatches,
  ReversibleRuleRouter,
  Router,
  Rule,
  RuleRouter,
  expandPathParameters,
  type Matcher,
  type MatchParams,
  type PathMatch,
  type RequestRouter,
  type RouteDelegate,
  type RouteMatch,
  type RuleSpec,
  type RuleTarget,
  type TargetMatch,
} from "./routing.js";
export * from "./httputil.js";
export * from "./httpserver.js";
export * from "./iostream.js";
export * from "./tcpserver.js";
export * from "./tcpclient.js";
export * from "./log.js";
export * from "./escape.js";
export * from "./broadcast.js";
export * from "./testing.js";
export * from "./websocket.js";
export * from "./handlers.js";
export * from "./template.js";
export * from "./locale.js";
export * from "./ioloop.js";
export * from "./gen.js";
export * from "./locks.js";
export * from "./queues.js";
export * from "./httpclient.js";
export * from "./options.js";
export * from "./openapi.js";
export { EnvironmentError, readEnvironment, type ReadEnvironmentOptions } from "./env.js";
export * from "./db.js";
export { VERSION } from "./version.js";
export * from "./auth.js";
