/**
 * URL routing, as Tornado's `tornado.routing`: ordered rules of a matcher and a target, with
 * named rules that can be turned back into URLs.
 *
 * An `Application`'s routes are `url(pattern, Handler)` rules (a `Router`): a pattern is a
 * regular expression matched against the whole path (anchored at both ends), its groups the
 * handler method's arguments; `/users/:id` is short for `/users/(?<id>[^/]+)`. Any `Rule` can
 * sit among them: a host (`HostMatches`), anything (`AnyMatches`) or a matcher of your own, with
 * a nested list of routes, another `Application`, a `RuleRouter` or a node `(req, res)` listener
 * as its target. A `RuleRouter` is such a list on its own, served by an `HTTPServer` directly.
 *
 * @example
 * import { Router, url } from "tornado/routing";
 * const router = new Router([url("/users/(\\d+)", UserHandler, { name: "user" })]);
 * router.find("/users/42")?.pathArgs; // ["42"]
 * router.reverseUrl("user", 42);      // "/users/42"
 */

export { expandPathParameters, PathMatches, type PathMatch } from "./routing/path.js";
export { AnyMatches, DefaultHostMatches, HostMatches, type Matcher, type MatchParams } from "./routing/matchers.js";
export {
  ReversibleRuleRouter,
  Rule,
  RuleRouter,
  type RequestRouter,
  type RouteDelegate,
  type RuleSpec,
  type RuleTarget,
} from "./routing/rules.js";
export { Router, URLSpec, url, type RouteMatch, type RouteSpec, type TargetMatch, type URLSpecOptions } from "./routing/router.js";
