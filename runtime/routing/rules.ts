/**
 * Rules and the routers made of them (Tornado's `Rule`, `RuleRouter`, `ReversibleRuleRouter`):
 * a matcher and a target, tried in order. A target is another router, an `Application` (or
 * anything with `handleRequest(request)`), a `(request) => …` function, a node `(req, res)`
 * listener, or a list of rules (a nested router).
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { errorHeaders, errorPage } from "../httpserver/connection.js";
import type { HTTPServerRequest } from "../httputil/request.js";
import { appLog } from "../log.js";
import type { Matcher, MatchParams } from "./matchers.js";
import { PathMatches } from "./path.js";

/**
 * Serves the request a router found a target for (Tornado's delegate from `find_handler`).
 *
 * @example
 * const serve: RouteDelegate | null = router.findHandler(request);
 * serve?.();
 */
export type RouteDelegate = () => void;

/**
 * A router (Tornado's `Router`): finds what serves a request, or `null` when nothing does.
 *
 * @example
 * const byHeader: RequestRouter = { findHandler: (r) => (r.headers.has("X-Beta") ? () => beta.handleRequest(r) : null) };
 */
export interface RequestRouter {
  findHandler(request: HTTPServerRequest): RouteDelegate | null;
}

/**
 * What a rule sends its requests to: a router, an `Application` (or any object with
 * `handleRequest(request)`), a function of one argument taking the `HTTPServerRequest`, a node
 * request listener `(req, res)` (two or more declared parameters: an Express app is one), or a
 * list of rules. A `RequestHandler` class is a target only in an `Application`'s routes.
 *
 * @example
 * const targets: RuleTarget[] = [otherApp, new RuleRouter([]), (req, res) => res.end("hi"), [["/x", otherApp]]];
 */
export type RuleTarget =
  | RequestRouter
  | { handleRequest(request: HTTPServerRequest): unknown }
  | ((request: HTTPServerRequest) => unknown)
  | ((req: IncomingMessage, res: ServerResponse, ...rest: any[]) => unknown)
  | (abstract new (...args: any[]) => unknown)
  | readonly RuleSpec[];

/**
 * One rule: a matcher (a path pattern string is a `PathMatches`), its target, what the target
 * is given (`initArgs` for a handler class, as Tornado's `target_kwargs`) and an optional name
 * for `reverseUrl`.
 *
 * @example
 * new Rule(new HostMatches("api\\.example\\.com"), apiApp);
 * new Rule("/legacy/.*", expressApp);
 * new Rule(new PathMatches("/users/(\\d+)"), UserHandler, { db }, "user"); // in an Application
 */
export class Rule {
  /** What decides whether the rule applies. */
  readonly matcher: Matcher;
  /** What serves the requests it matches. */
  readonly target: RuleTarget;
  /** Given to a handler class target's `initialize()`. */
  readonly initArgs: unknown;
  /** The name for `reverseUrl`, if any. */
  readonly name: string | undefined;

  constructor(matcher: Matcher | string | RegExp, target: RuleTarget, initArgs?: unknown, name?: string) {
    this.matcher = typeof matcher === "string" || matcher instanceof RegExp ? new PathMatches(matcher) : matcher;
    if (typeof this.matcher?.match !== "function") throw new TypeError("a rule's matcher must be a path pattern or an object with match(request)");
    if (target === null || (typeof target !== "object" && typeof target !== "function")) {
      throw new TypeError(`a rule's target must be a RequestHandler class, an Application, a router, a function or a list of rules, not ${String(target)}`);
    }
    this.target = target;
    this.initArgs = initArgs;
    this.name = name;
  }

  /**
   * The URL of this rule with `args` in its groups, or `null` when its matcher cannot say.
   *
   * @example
   * new Rule("/users/(\\d+)", app, undefined, "user").reverse(7) // "/users/7"
   */
  reverse(...args: unknown[]): string | null {
    return this.matcher.reverse?.(...args) ?? null;
  }
}

/**
 * A rule as routers accept it: a `Rule`, or `[matcher, target, initArgs?, name?]` (a string
 * matcher is a path pattern).
 *
 * @example
 * const rules: RuleSpec[] = [[new HostMatches("admin\\..*"), adminApp], ["/.*", mainApp]];
 */
export type RuleSpec = Rule | readonly [Matcher | string | RegExp, RuleTarget, unknown?, string?];

/** Whether `target` is a class extending RequestHandler (found without importing it). @internal */
export function isHandlerClass(target: unknown): boolean {
  return typeof target === "function" && typeof (target as { prototype?: { _execute?: unknown } }).prototype?._execute === "function";
}

/** Whether `target` is a router (has `findHandler`). @internal */
export function isRequestRouter(target: unknown): target is RequestRouter {
  return target !== null && typeof target === "object" && typeof (target as RequestRouter).findHandler === "function";
}

/**
 * The delegate serving `request` with `target` (not a handler class, not a list), or null when a
 * router target finds nothing.
 * @internal
 */
export function targetDelegate(target: RuleTarget, request: HTTPServerRequest): RouteDelegate | null {
  if (isRequestRouter(target)) return target.findHandler(request);
  if (typeof (target as { handleRequest?: unknown }).handleRequest === "function") {
    const delegate = target as { handleRequest(request: HTTPServerRequest): unknown };
    return () => settle(request, () => delegate.handleRequest(request));
  }
  if (typeof target === "function" && !isHandlerClass(target)) {
    const fn = target as (...args: unknown[]) => unknown;
    return fn.length >= 2 ? () => serveNodeListener(fn, request) : () => settle(request, () => fn(request));
  }
  return null;
}

// Runs a delegate; an error it throws (or rejects with) before answering becomes a 500.
function settle(request: HTTPServerRequest, run: () => unknown): void {
  const failed = (error: unknown) => {
    appLog.error(`Uncaught exception in route target ${request}`, error);
    const connection = request.connection;
    if (connection === undefined || connection.closed) return;
    if ((connection as { headersSent?: boolean }).headersSent) connection.abort?.();
    else connection.respond(500, "Internal Server Error", errorHeaders(), errorPage(500));
  };
  try {
    const result = run();
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
      Promise.resolve(result).catch(failed);
    }
  } catch (e) {
    failed(e);
  }
}

/**
 * Hands the request to a node listener with node's own `req` and `res` (as `FallbackHandler`
 * does): it reads the body itself and sees the full path. A 500 if the listener throws first.
 * @internal
 */
export function serveNodeListener(listener: (req: IncomingMessage, res: ServerResponse) => unknown, request: HTTPServerRequest): void {
  const exchange = request.connection?.detach?.() ?? null;
  if (exchange === null) {
    appLog.error(`A node listener route target needs a request received by HTTPServer, with no Upgrade and body: ${request}`);
    request.connection?.respond(500, "Internal Server Error", errorHeaders(), errorPage(500));
    return;
  }
  const { req, res } = exchange;
  const failed = (error: unknown) => {
    appLog.error(`Uncaught exception in node listener ${request}`, error);
    if (res.headersSent) res.destroy();
    else if (!res.writableEnded) {
      res.statusCode = 500;
      res.setHeader("Content-Type", "text/html; charset=UTF-8");
      res.end(errorPage(500));
    }
  };
  try {
    const result = listener(req, res);
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
      Promise.resolve(result).catch(failed);
    }
  } catch (e) {
    failed(e);
  }
}

/**
 * Builds a `Rule` from a `RuleSpec`.
 * @internal
 */
export function toRule(spec: RuleSpec): Rule {
  if (spec instanceof Rule) return spec;
  if (!Array.isArray(spec) || spec.length < 2 || spec.length > 4) {
    throw new TypeError("a rule is new Rule(matcher, target) or [matcher, target, initArgs?, name?]");
  }
  return new Rule(spec[0], spec[1], spec[2], spec[3]);
}

/**
 * An ordered list of rules (Tornado's `RuleRouter`): the first whose matcher matches, and whose
 * target serves the request, wins. Usable wherever an `HTTPServer` takes an application: a
 * request no rule serves gets a 404 page. Rules whose target is a `RequestHandler` class belong
 * in an `Application` instead.
 *
 * @example
 * const router = new RuleRouter([
 *   [new HostMatches("api\\.example\\.com"), apiApp],
 *   ["/legacy/.*", (req, res) => legacyExpress(req, res)],
 *   [new AnyMatches(), webApp],
 * ]);
 * await new HTTPServer(router).listen(8888);
 */
export class RuleRouter implements RequestRouter {
  /** The rules, in the order they are tried. */
  readonly rules: Rule[] = [];
  // Named rules (for ReversibleRuleRouter); here so they exist before the constructor adds rules.
  protected readonly namedRules = new Map<string, Rule>();

  constructor(rules: readonly RuleSpec[] = []) {
    this.addRules(rules);
  }

  /**
   * Appends rules after the existing ones.
   *
   * @example
   * router.addRules([[new AnyMatches(), fallbackApp]]);
   */
  addRules(rules: readonly RuleSpec[]): void {
    for (const spec of rules) this.rules.push(this.processRule(toRule(spec)));
  }

  /**
   * Prepares a rule as it is added (a list target becomes a nested router of this class);
   * override to check or rewrite rules.
   *
   * @example
   * protected override processRule(rule: Rule) { console.log(rule.name); return super.processRule(rule); }
   */
  protected processRule(rule: Rule): Rule {
    if (Array.isArray(rule.target)) {
      const nested = new (this.constructor as new (rules: readonly RuleSpec[]) => RuleRouter)(rule.target as readonly RuleSpec[]);
      return new Rule(rule.matcher, nested, rule.initArgs, rule.name);
    }
    if (isHandlerClass(rule.target)) {
      throw new TypeError("a RequestHandler class is a route target only in an Application's routes: put the rule there, or target the Application");
    }
    return rule;
  }

  /**
   * The delegate serving `request`: the first rule whose matcher matches and whose target serves
   * it (a nested router that finds nothing passes to the next rule); `null` when none.
   *
   * @example
   * router.findHandler(request)?.();
   */
  findHandler(request: HTTPServerRequest): RouteDelegate | null {
    for (const rule of this.rules) {
      const params = rule.matcher.match(request);
      if (params === null) continue;
      const delegate = this.getTargetDelegate(rule.target, request, params);
      if (delegate !== null) return delegate;
    }
    return null;
  }

  /**
   * The delegate for a matched rule's target (Tornado's `get_target_delegate`); override to
   * support targets of your own.
   *
   * @example
   * protected override getTargetDelegate(target, request, params) { return target instanceof MyThing ? () => target.serve(request) : super.getTargetDelegate(target, request, params); }
   */
  protected getTargetDelegate(target: RuleTarget, request: HTTPServerRequest, _params: MatchParams): RouteDelegate | null {
    return targetDelegate(target, request);
  }

  /**
   * Serves a request as an `HTTPServer` delegate: the matching target, else a 404 page.
   *
   * @example
   * new HTTPServer(new RuleRouter([[new AnyMatches(), app]]));
   */
  handleRequest(request: HTTPServerRequest): void {
    const delegate = this.findHandler(request);
    if (delegate !== null) delegate();
    else request.connection?.respond(404, "Not Found", errorHeaders(), errorPage(404));
  }

  /**
   * Tells the targets (applications, nested routers) that a server serving this router listens,
   * as `HTTPServer` tells its application (an `Application` starts its metrics port).
   *
   * @example
   * router.serverListening(server); // HTTPServer calls it
   */
  serverListening(server: object): void {
    for (const rule of this.rules) (rule.target as { serverListening?: (server: object) => void }).serverListening?.(server);
  }

  /**
   * Tells the targets that a server serving this router is closing.
   *
   * @example
   * router.serverClosing(server); // HTTPServer calls it
   */
  serverClosing(server: object): void {
    for (const rule of this.rules) (rule.target as { serverClosing?: (server: object) => void }).serverClosing?.(server);
  }
}

/**
 * A `RuleRouter` whose named rules can be turned back into URLs (Tornado's
 * `ReversibleRuleRouter`), searching nested routers and applications too.
 *
 * @example
 * const router = new ReversibleRuleRouter([new Rule("/about", aboutApp, undefined, "about"), [new AnyMatches(), app]]);
 * router.reverseUrl("about") // "/about"
 * router.reverseUrl("user", 7) // from app's own routes: "/users/7"
 */
export class ReversibleRuleRouter extends RuleRouter {
  protected override processRule(rule: Rule): Rule {
    const processed = super.processRule(rule);
    if (processed.name !== undefined) {
      if (this.namedRules.has(processed.name)) throw new TypeError(`Multiple handlers named ${processed.name}`);
      this.namedRules.set(processed.name, processed);
    }
    return processed;
  }

  /**
   * The URL of the rule named `name` with `args` in its groups: this router's own rules first,
   * then its targets that can reverse (nested routers, applications) in order; `null` when none
   * knows the name.
   *
   * @example
   * router.reverseUrl("user", 42) // "/users/42", or null
   */
  reverseUrl(name: string, ...args: unknown[]): string | null {
    const own = this.namedRules.get(name);
    if (own !== undefined) return own.reverse(...args);
    for (const rule of this.rules) {
      const found = reverseIn(rule.target, name, args);
      if (found !== null) return found;
    }
    return null;
  }
}

/**
 * The URL named `name` in a route target that can reverse (a router or an application), or
 * `null`. Targets whose `reverseUrl` throws for an unknown name (`Application`, `Router`) are
 * asked through their `findUrl`.
 * @internal
 */
export function reverseIn(target: unknown, name: string, args: unknown[]): string | null {
  if (target === null || (typeof target !== "object" && typeof target !== "function")) return null;
  const t = target as { findUrl?: (name: string, ...args: unknown[]) => string | null; reverseUrl?: (name: string, ...args: unknown[]) => string | null };
  if (typeof t.findUrl === "function") return t.findUrl(name, ...args);
  if (target instanceof ReversibleRuleRouter) return target.reverseUrl(name, ...args);
  return null;
}
