/** `Application`: the route table and settings that turn requests into handler calls. */

import type { StaticFileHandler } from "../handlers/static.js";
import type { HTTPServerRequest } from "../httputil/request.js";
import type { HTTPServer, HTTPServerOptions, ListenOptions } from "../httpserver.js";
import { runForRequest } from "../ioloop/process-guard.js";
import { accessLog, appLog, type LogLevel } from "../log.js";
import { DefaultHostMatches, HostMatches } from "../routing/matchers.js";
import { Router, type RouteMatch, type RouteSpec, type TargetMatch } from "../routing/router.js";
import { Rule, type RuleTarget } from "../routing/rules.js";
import { openApiRoutes } from "../openapi/routes.js";
import { HTTPError } from "./errors.js";
import type { TemplateLoader } from "../template/loader.js";
import { BlockingMonitor, blockingMonitor } from "./blocking.js";
import { assertSafeCorsOptions, type CorsOptions } from "./cors.js";
import { RequestHandler, type HandlerClass } from "./handler.js";
import type { CookieOptions } from "./cookies.js";
import type { CookieSecret } from "./signing.js";
import type { OpenAPIOptions } from "../openapi/document.js";
import type { JSONSchemaSetting } from "./schema/jsonschema.js";
import { ProcessMetrics, serveMetricsPort, type MetricsOptions } from "../metrics/process.js";
import { MetricsHandler } from "./metrics-handler.js";

/**
 * Application settings (Tornado's, in camelCase). Any other key is kept too, so
 * `this.settings.db` can carry your own objects.
 *
 * @example
 * new Application(routes, { debug: true, defaultHandlerClass: NotFoundHandler, db });
 */
export interface ApplicationSettings {
  // static files
  /**
   * A directory served at `staticUrlPrefix` (and at `/favicon.ico` and `/robots.txt`) by
   * `staticHandlerClass`; `staticUrl(path)` needs it.
   */
  staticPath?: string;
  /** The URL prefix of static files. Default `/static/`. */
  staticUrlPrefix?: string;
  /** The handler class for static files: `StaticFileHandler` (the default) or a subclass. */
  staticHandlerClass?: typeof StaticFileHandler;
  /** More `initArgs` for `staticHandlerClass` (`path` is `staticPath`), e.g. `{ defaultFilename: "index.html" }`. */
  staticHandlerArgs?: Record<string, unknown>;
  /** Cache each static file's version (`?v=` and `Etag`) until restart. Default true; false with `debug`. */
  staticHashCache?: boolean;
  /** Development mode: implies `serveTraceback` (and `staticHashCache: false`). */
  debug?: boolean;
  /** Send the error's stack as the body of 500 pages. */
  serveTraceback?: boolean;
  /**
   * The host whose `addHandlers(hostPattern, routes)` routes also serve requests for hosts no
   * pattern matches (Tornado's `default_host`), unless they came through a proxy that sent
   * `X-Real-Ip`. Set it before calling `addHandlers`.
   */
  defaultHost?: string;
  /** Handler for paths no route matches (default: a 404 page). */
  defaultHandlerClass?: HandlerClass;
  /** `initArgs` for `defaultHandlerClass`. */
  defaultHandlerArgs?: unknown;
  /** Replaces the access log line: called with each finished handler. */
  logFunction?: (handler: RequestHandler) => void;
  /** Encodes objects passed to `write()` (default: `jsonEncode`, which escapes `</`). */
  jsonEncoder?: (value: unknown) => string;
  // compression, templates, CORS
  /**
   * Gzip responses for clients that send `Accept-Encoding: gzip` (Tornado's `compress_response`):
   * text and other compressible types of 1 KiB or more, and every streamed (`flush()`ed) one.
   * While on, every response carries `Vary: Accept-Encoding`.
   */
  compressResponse?: boolean;
  /** The folder `render()` loads templates from (Tornado's `template_path`). */
  templatePath?: string;
  /** Keep compiled templates between requests (Tornado's `compiled_template_cache`). Default: on, off with `debug`. */
  compiledTemplateCache?: boolean;
  /** The `TemplateLoader` `render()` uses, instead of one built from `templatePath` (Tornado's `template_loader`). */
  templateLoader?: TemplateLoader;
  /** Cross-origin requests from browsers: which origins may call, and an answer to every preflight. */
  cors?: CorsOptions;
  /**
   * Log handlers that block the event loop longer than this many ms, with the route, method
   * and `.ts` location (0: off). Default 100 under `tornado dev`, else off; it costs speed.
   */
  blockingLogThreshold?: number;
  /** Send each open WebSocket a ping this often, in ms (0 or absent: no pings). */
  websocketPingInterval?: number;
  /**
   * Close a WebSocket whose peer has not answered a ping within this many ms (with 1000,
   * "ping timed out"). Default, and at most: `websocketPingInterval`. 0: never.
   */
  websocketPingTimeout?: number;
  /** The largest WebSocket message accepted, in bytes; a bigger one closes with 1009. Default 10 MiB. */
  websocketMaxMessageSize?: number;
  /**
   * Bytes that may wait to be sent on a WebSocket (writes not awaited, pongs the client does not
   * read) before it is closed with 1008. Default 4 MiB.
   */
  websocketMaxOutgoingBuffer?: number;
  [key: string]: any;
  // cookies, XSRF, authentication
  /**
   * The secret for signed cookies (`setSignedCookie`, `getSignedCookie`): long and random, kept
   * out of the code. A map `{ [keyVersion]: secret }` rotates keys: new values are signed with
   * `keyVersion`, values signed with the others still read.
   */
  cookieSecret?: CookieSecret;
  /** The key version of `cookieSecret` to sign with, when it is a map. */
  keyVersion?: number;
  /** Check an XSRF token on every request but GET, HEAD and OPTIONS (a 403 without one). */
  xsrfCookies?: boolean;
  /** The name of the XSRF cookie (default `_xsrf`). */
  xsrfCookieName?: string;
  /** Options for the XSRF cookie, as `setCookie` takes them (`{ secure: true, sameSite: "Strict" }`). */
  xsrfCookieKwargs?: CookieOptions;
  /** The format of `xsrfToken`: 2 (default, masked anew for every response) or 1 (plain hex). */
  xsrfCookieVersion?: number;
  /** OpenAPI: serve the document at `/openapi.json` and a docs page at `/docs` (see `tornado/openapi`). */
  openapi?: OpenAPIOptions;
  /** A converter to JSON Schema for schema libraries without Standard JSON Schema (valibot). */
  jsonSchema?: JSONSchemaSetting;
  /** Check responses against their schemas, logging a mismatch. Default: on with `debug` or NODE_ENV=test. */
  validateResponses?: boolean;
  /** The deepest nesting of a JSON body a schema handler accepts (a 400 beyond). Default 64. */
  maxJsonDepth?: number;
  /** Where `authenticated` sends visitors who are not logged in (`next=` is added). */
  loginUrl?: string;
  /**
   * Prometheus metrics (through `prom-client`, which the app installs): `true` serves them at
   * `/metrics` on the app's port; `{ port }` on a port of their own (see `tornado/metrics`).
   */
  metrics?: boolean | MetricsOptions;
  /**
   * Send each request's id back in `X-Request-Id` (see `request.requestId`). Default: on with
   * JSON logs (`LOG_FORMAT=json`), else off.
   */
  requestIds?: boolean;
}

// Gives handler modules (web/application-type.ts) this module's types without an import circle.
declare module "./application-type.js" {
  interface ApplicationTypes {
    application: Application;
    settings: ApplicationSettings;
  }
}

/**
 * What the `staticPath` setting needs: the default handler class and the routes it adds.
 * handlers/routes.ts registers it when loaded (web.ts loads it), so that this module does not
 * import the static-file handler, which imports this one's types back.
 * @internal
 */
export interface StaticFileSupport {
  handlerClass: typeof StaticFileHandler;
  routes(settings: ApplicationSettings): RouteSpec[];
}

let staticFileSupport: StaticFileSupport | undefined;

/**
 * Registers what the `staticPath` setting uses (called once, by handlers/routes.ts).
 * @internal
 */
export function registerStaticFiles(support: StaticFileSupport): void {
  staticFileSupport = support;
}

function staticFiles(): StaticFileSupport {
  if (staticFileSupport === undefined) throw new Error("The staticPath setting needs tornado's handlers module: import Application from \"tornado\" or \"tornado/web\"");
  return staticFileSupport;
}

/**
 * Answers every request with an error status (Tornado's `ErrorHandler`); the default for paths
 * no route matches, with `{ statusCode: 404 }`.
 *
 * @example
 * new Application([["/old", ErrorHandler, { statusCode: 410 }]]);
 */
export class ErrorHandler extends RequestHandler {
  /**
   * Answers with `initArgs.statusCode` (default 404) straight away, before any body is read.
   *
   * @example
   * ["/old", ErrorHandler, { statusCode: 410 }]
   */
  override initialize(initArgs: { statusCode?: number } = {}): void {
    // Refused here rather than in prepare(), before any request body is read.
    throw new HTTPError(initArgs.statusCode ?? 404);
  }
}

/**
 * A web application: routes plus settings. Hand it to an `HTTPServer`, or call `listen()`.
 *
 * Routes are tried in order; the first whose pattern matches the whole path serves the
 * request, its groups passed to the method (URL-decoded). `/users/:id` is short for
 * `/users/(?<id>[^/]+)`.
 *
 * @example
 * const app = new Application([
 *   ["/", MainHandler],
 *   url("/users/:id", UserHandler, { name: "user" }),
 * ], { debug: true });
 * const server = await app.listen(8888);
 */
export class Application {
  readonly settings: ApplicationSettings;
  readonly router: Router;
  // The routers of addHandlers(hostPattern, routes), tried first.
  private hostRouters: { matcher: HostMatches; router: Router }[] | undefined;
  private readonly monitor: BlockingMonitor | undefined;
  private readonly metrics: { recorder: ProcessMetrics; options: MetricsOptions; routes: WeakMap<HTTPServerRequest, string> } | undefined;
  // With a metrics port: the servers listening for this app, and how to close the port.
  private metricsServers: Set<object> | undefined;
  private closeMetricsPort: Promise<() => Promise<void>> | undefined;

  constructor(routes: readonly RouteSpec[] = [], settings: ApplicationSettings = {}) {
    this.settings = { ...settings };
    if (this.settings.cors !== undefined) assertSafeCorsOptions(this.settings.cors);
    if (this.settings.debug) this.settings.serveTraceback ??= true;
    // static files: with staticPath, Tornado's three static routes go in front of the app's.
    if (this.settings.staticPath) this.settings.staticHandlerClass ??= staticFiles().handlerClass;
    if (this.settings.debug) this.settings.staticHashCache ??= false;
    // openapi: /openapi.json and /docs, in front of the app's routes as the static ones are.
    // metrics: /metrics in front too, unless they have a port of their own.
    const metrics = this.settings.metrics;
    if (metrics !== undefined && metrics !== false) {
      const options = metrics === true ? {} : metrics;
      this.metrics = { recorder: ProcessMetrics.get(options), options, routes: new WeakMap() };
    }
    const metricsRoutes: RouteSpec[] =
      this.metrics !== undefined && this.metrics.options.port === undefined ? [[escapeRoute(this.metrics.options.path ?? "/metrics"), MetricsHandler, { metrics: this.metrics.recorder }]] : [];
    this.router = new Router([...(this.settings.staticPath ? staticFiles().routes(this.settings) : []), ...openApiRoutes(this.settings.openapi), ...metricsRoutes, ...routes]);
    this.monitor = blockingMonitor(this.settings.blockingLogThreshold ?? (process.env.TORNADO_DEV === "1" ? 100 : 0));
  }

  /**
   * Appends routes after the existing ones; with a host pattern first, as Tornado's
   * `add_handlers(host_pattern, host_handlers)`, adds routes that serve only requests whose host
   * name (`Host` without its port, lower case) matches it from start to end. Host routes are
   * tried before the application's own, in the order they were added; a request whose host
   * routes have no match for its path falls through to the next. With the `defaultHost` setting,
   * they also serve (after the application's own routes) requests for a host nothing matches.
   *
   * @example
   * app.addHandlers([["/health", HealthHandler]]);
   * app.addHandlers("(www\\.)?example\\.com", [["/", HomeHandler]]);
   * app.addHandlers("api\\.example\\.com", [url("/users/:id", UserHandler, { name: "user" })]);
   */
  addHandlers(routes: readonly RouteSpec[]): void;
  addHandlers(hostPattern: string | RegExp, routes: readonly RouteSpec[]): void;
  addHandlers(hostPatternOrRoutes: string | RegExp | readonly RouteSpec[], hostRoutes?: readonly RouteSpec[]): void {
    if (Array.isArray(hostPatternOrRoutes)) {
      this.router.addRules(hostPatternOrRoutes);
      return;
    }
    if (hostRoutes === undefined) throw new TypeError("addHandlers(hostPattern, routes) needs the routes for that host");
    const matcher = new HostMatches(hostPatternOrRoutes as string | RegExp);
    const router = new Router(hostRoutes);
    (this.hostRouters ??= []).push({ matcher, router });
    if (this.settings.defaultHost !== undefined) {
      this.router.addRules([new Rule(new DefaultHostMatches(this, matcher.hostPattern), router as unknown as RuleTarget)]);
    }
  }

  // Host routes first (in the order added), then the application's own.
  private matchHosts(request: HTTPServerRequest): RouteMatch | TargetMatch | null {
    for (const { matcher, router } of this.hostRouters!) {
      if (matcher.match(request) === null) continue;
      const found = router.match(request);
      if (found !== null) return found;
    }
    return this.router.match(request);
  }

  /**
   * Serves one request: finds its handler (or other route target) and runs it. `HTTPServer`
   * calls this. It never throws: every error becomes a response (and a log line).
   *
   * @example
   * app.handleRequest(new HTTPServerRequest({ uri: "/", connection }));
   */
  handleRequest(request: HTTPServerRequest): void {
    const match = this.hostRouters === undefined ? this.router.match(request) : this.matchHosts(request);
    if (match !== null && (match as TargetMatch).serve !== undefined) {
      if (this.metrics !== undefined) this.metrics.routes.set(request, match.rule.name ?? "(route target)");
      (match as TargetMatch).serve();
      return;
    }
    const found = match as RouteMatch | null;
    if (this.metrics !== undefined) this.metrics.routes.set(request, found === null ? "(no route)" : (found.rule.name ?? found.rule.pattern));
    if (found !== null) {
      const handler = new found.rule.handlerClass(this, request);
      const rule = found.rule;
      const run = () => handler._execute(rule.initArgs, found.pathArgs, found.pathKwargs);
      const monitor = this.monitor;
      void runForRequest(rule.pattern, request, monitor ? () => monitor.run(handler, rule.pattern, run) : run, rule.name);
      return;
    }
    const fallback = this.settings.defaultHandlerClass;
    if (fallback !== undefined) {
      const handler = new fallback(this, request);
      const run = () => handler._execute(this.settings.defaultHandlerArgs, [], {});
      void runForRequest("(default handler)", request, () => (this.monitor ? this.monitor.run(handler, "(default handler)", run) : run()));
    } else {
      void new ErrorHandler(this, request)._execute({ statusCode: 404 }, [], {});
    }
  }

  /**
   * The path of the route named `name` with `args` in its groups (percent-encoded), searching
   * host routes, then the application's own, then nested routers and applications; `null` when
   * no route has that name.
   *
   * @example
   * app.findUrl("user", 42) // "/users/42"
   */
  findUrl(name: string, ...args: unknown[]): string | null {
    for (const { router } of this.hostRouters ?? []) {
      const found = router.findUrl(name, ...args);
      if (found !== null) return found;
    }
    return this.router.findUrl(name, ...args);
  }

  /**
   * The path of the route named `name`, with `args` filled into its groups (percent-encoded),
   * wherever it is (host routes, nested routers and applications); throws when none has it.
   *
   * @example
   * app.reverseUrl("user", 42) // "/users/42"
   */
  reverseUrl(name: string, ...args: unknown[]): string {
    const found = this.findUrl(name, ...args);
    if (found === null) throw new TypeError(`${name} not found in named urls`);
    return found;
  }

  /**
   * Writes the access log line for a finished request on `tornado.access`:
   * `200 GET /users (127.0.0.1) 0.45ms`, at info below 400, warning below 500, error above.
   * The `logFunction` setting replaces it.
   *
   * @example
   * new Application(routes, { logFunction: (h) => metrics.count(h.getStatus()) });
   */
  logRequest(handler: RequestHandler): void {
    if (this.metrics !== undefined) this.metrics.recorder.observe(this.metrics.routes.get(handler.request) ?? "(no route)", handler.request, handler.getStatus());
    if (this.settings.logFunction) {
      this.settings.logFunction(handler);
      return;
    }
    const status = handler.getStatus();
    const level: LogLevel = status < 400 ? "info" : status < 500 ? "warning" : "error";
    if (!accessLog.isEnabledFor(level)) return;
    const request = handler.request;
    const durationMs = request.requestTime();
    const fields = { requestId: request.requestId, method: request.method, path: request.path, status, durationMs: Math.round(durationMs * 1000) / 1000 };
    accessLog.log(level, `${status} ${request} ${durationMs.toFixed(2)}ms`, undefined, fields);
  }

  /**
   * Called by an `HTTPServer` serving this app once it listens: the first one starts the
   * metrics port, when the `metrics` setting has one.
   *
   * @example
   * app.serverListening(server); // HTTPServer calls it
   */
  serverListening(server: object): void {
    const port = this.metrics?.options.port;
    if (port === undefined) return;
    (this.metricsServers ??= new Set()).add(server);
    this.closeMetricsPort ??= serveMetricsPort(this.metrics!.recorder, { ...this.metrics!.options, port });
    this.closeMetricsPort.catch((error: unknown) => {
      appLog.error(`Metrics are not served: ${(error as Error).message}`);
      this.closeMetricsPort = undefined;
    });
  }

  /**
   * Called by an `HTTPServer` serving this app when it closes: the last one closes the metrics port.
   *
   * @example
   * app.serverClosing(server); // HTTPServer calls it
   */
  serverClosing(server: object): void {
    if (this.metricsServers === undefined || !this.metricsServers.delete(server) || this.metricsServers.size > 0) return;
    const closing = this.closeMetricsPort;
    this.closeMetricsPort = undefined;
    void closing?.then((close) => close(), () => {});
  }

  /**
   * Starts an `HTTPServer` for this application on `port` (0 for any free port); resolves once
   * it is listening. `options` are the server's, plus `reusePort` (see `HTTPServer.listen`).
   *
   * @example
   * const server = await makeApp().listen(Number(process.env.PORT ?? 8888));
   * console.log(`listening on ${server.port}`);
   */
  async listen(port = 0, host?: string, options: HTTPServerOptions & ListenOptions = {}): Promise<HTTPServer> {
    const { reusePort, ...serverOptions } = options;
    // Loaded here, not above: building an app (tests, `tornado routes`) need not load the server.
    const { HTTPServer } = await import("../httpserver.js");
    const server = new HTTPServer(this, serverOptions);
    await server.listen(port, host, { reusePort });
    return server;
  }
}

function escapeRoute(path: string): string {
  return path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
