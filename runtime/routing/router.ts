/**
 * The route table of an `Application` (`Router`): `url()` routes to handler classes, in order,
 * and any other `Rule` (a host, a nested router, another application, a node listener).
 */

import type { HTTPServerRequest } from "../httputil/request.js";
import type { HandlerClass } from "../web/handler.js";
import type { Matcher } from "./matchers.js";
import { PathMatches, type PathMatch } from "./path.js";
import { Rule, isHandlerClass, reverseIn, targetDelegate, toRule, type RouteDelegate, type RuleSpec, type RuleTarget } from "./rules.js";

/**
 * Options for a route built with `url()`.
 *
 * @example
 * url("/users/:id", UserHandler, { name: "user", initArgs: { db } });
 */
export interface URLSpecOptions {
  /** Passed to the handler's `initialize(initArgs)`. */
  initArgs?: unknown;
  /** Name for `reverseUrl(name, ...args)`. */
  name?: string;
}

/**
 * One route to a handler class (Tornado's `URLSpec`, a `Rule`): a path pattern (or another
 * matcher), the class, its `initArgs` and an optional name.
 *
 * @example
 * new URLSpec("/", HomeHandler, { name: "home" });
 * new URLSpec(new HostMatches("status\..*"), StatusHandler); // every path of a host
 */
export class URLSpec extends Rule {
  readonly handlerClass: HandlerClass;

  constructor(pattern: string | RegExp | Matcher, handlerClass: HandlerClass, options: URLSpecOptions = {}) {
    if (typeof handlerClass !== "function") {
      throw new TypeError(`route ${String(pattern)}: the handler must be a RequestHandler class`);
    }
    super(pattern, handlerClass, options.initArgs, options.name);
    this.handlerClass = handlerClass;
  }

  /**
   * The pattern as written (for another matcher, its class name in parentheses).
   *
   * @example
   * spec.pattern // "/users/:id"
   */
  get pattern(): string {
    const matcher = this.matcher;
    return matcher instanceof PathMatches ? matcher.pattern : `(${matcher.constructor?.name ?? "matcher"})`;
  }
}

/**
 * Builds a route; the same as `new URLSpec(pattern, handler, options)`.
 *
 * @example
 * new Application([url("/users/:id", UserHandler, { name: "user" })]);
 */
export function url(pattern: string | RegExp, handlerClass: HandlerClass, options: URLSpecOptions = {}): URLSpec {
  return new URLSpec(pattern, handlerClass, options);
}

/**
 * A route as `Application` and `Router` accept it: a `url()`, a `[pattern, Handler, initArgs?]`
 * tuple, or any `Rule` / `[matcher, target, initArgs?, name?]` (see `RuleTarget`).
 *
 * @example
 * const routes: RouteSpec[] = [["/", Home], ["/ws", Chat, { rooms }], url("/u/:id", User, { name: "user" }), [new HostMatches("admin\\..*"), adminApp]];
 */
export type RouteSpec = URLSpec | RuleSpec | readonly [string | RegExp, HandlerClass] | readonly [string | RegExp, HandlerClass, unknown];

/**
 * A path route that matched, with its group values.
 *
 * @example
 * const found: RouteMatch | null = router.find("/users/1");
 */
export interface RouteMatch extends PathMatch {
  rule: URLSpec;
}

/**
 * A rule whose target (another application, a router, a node listener) serves the request.
 *
 * @example
 * const found = router.match(request); if (found && "serve" in found) found.serve();
 */
export interface TargetMatch {
  rule: Rule;
  serve: RouteDelegate;
}

const NO_ARGS: (string | null)[] = Object.freeze([]) as unknown as (string | null)[];
const NO_KWARGS: Record<string, string | null> = Object.freeze({}) as Record<string, string | null>;

/**
 * An `Application`'s ordered routes (Tornado's `_ApplicationRouter`): the first rule that
 * matches wins. `url()` routes give a handler class; other rules give their target (a nested
 * list of routes is a `Router` of the same application, tried in turn).
 *
 * @example
 * const router = new Router([["/", Home], url("/users/:id", User, { name: "user" })]);
 * router.find("/users/3")?.rule.handlerClass === User; // true
 */
export class Router {
  /** The path routes to handler classes, in order (what `tornado routes` and OpenAPI list). */
  readonly rules: URLSpec[] = [];
  /** Every rule, in the order they are tried. */
  readonly allRules: Rule[] = [];
  private readonly named = new Map<string, Rule>();
  // Whether any rule is more than a path route (then requests are matched rule by rule).
  private general = false;

  constructor(rules: readonly RouteSpec[] = []) {
    this.addRules(rules);
  }

  /**
   * Appends routes (after the existing ones).
   *
   * @example
   * router.addRules([["/health", HealthHandler]]);
   */
  addRules(rules: readonly RouteSpec[]): void {
    for (const spec of rules) {
      const rule = toRouterRule(spec);
      if (rule instanceof URLSpec && rule.matcher instanceof PathMatches) this.rules.push(rule);
      else this.general = true;
      this.allRules.push(rule);
      if (rule.name !== undefined) {
        if (this.named.has(rule.name)) throw new TypeError(`Multiple handlers named ${rule.name}`);
        this.named.set(rule.name, rule);
      }
    }
  }

  /**
   * The first path route matching `path`, with its group values; `null` when none does.
   *
   * @example
   * router.find("/nope") // null
   */
  find(path: string): RouteMatch | null {
    for (const rule of this.rules) {
      const m = (rule.matcher as PathMatches).match(path);
      if (m !== null) return { rule, pathArgs: m.pathArgs, pathKwargs: m.pathKwargs };
    }
    return null;
  }

  /**
   * What serves `request`: a handler route (`RouteMatch`) or another target (`TargetMatch`),
   * trying every rule in order; `null` when none does.
   *
   * @example
   * const found = app.router.match(request);
   */
  match(request: HTTPServerRequest): RouteMatch | TargetMatch | null {
    if (!this.general) return this.find(request.path);
    for (const rule of this.allRules) {
      const params = rule.matcher.match(request);
      if (params === null) continue;
      if (rule instanceof URLSpec) return { rule, pathArgs: params.pathArgs ?? NO_ARGS, pathKwargs: params.pathKwargs ?? NO_KWARGS };
      if (rule.target instanceof Router) {
        const inner = rule.target.match(request);
        if (inner !== null) return inner;
        continue;
      }
      const serve = targetDelegate(rule.target, request);
      if (serve !== null) return { rule, serve };
    }
    return null;
  }

  /**
   * The URL of the rule named `name` with `args` in its groups, looking in nested routers and
   * applications too; `null` when no rule has that name.
   *
   * @example
   * router.findUrl("user", 42) // "/users/42"
   */
  findUrl(name: string, ...args: unknown[]): string | null {
    const rule = this.named.get(name);
    if (rule !== undefined) return rule.reverse(...args);
    for (const rule of this.allRules) {
      const found = reverseIn(rule.target, name, args);
      if (found !== null) return found;
    }
    return null;
  }

  /**
   * The path of the route named `name`, with `args` filled into its groups; throws when no
   * route has that name.
   *
   * @example
   * router.reverseUrl("user", 42) // "/users/42"
   */
  reverseUrl(name: string, ...args: unknown[]): string {
    const found = this.findUrl(name, ...args);
    if (found === null) throw new TypeError(`${name} not found in named urls`);
    return found;
  }
}

function toRouterRule(spec: RouteSpec): Rule {
  if (spec instanceof URLSpec) return spec;
  if (!(spec instanceof Rule) && (!Array.isArray(spec) || spec.length < 2 || spec.length > 4)) {
    throw new TypeError("a route is url(pattern, Handler, options), [pattern, Handler, initArgs?] or a Rule");
  }
  const rule = toRule(spec as RuleSpec);
  const target: RuleTarget = rule.target;
  if (isHandlerClass(target)) return new URLSpec(rule.matcher, target as HandlerClass, { initArgs: rule.initArgs, name: rule.name });
  if (Array.isArray(target)) return new Rule(rule.matcher, new Router(target as readonly RouteSpec[]) as unknown as RuleTarget, rule.initArgs, rule.name);
  return rule;
}
