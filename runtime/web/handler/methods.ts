/** Which HTTP methods a handler answers, and the 405 for one it does not (Tornado's `SUPPORTED_METHODS`). */

import { HTTPError } from "../errors.js";

type HandlerMethodFunction = (...args: unknown[]) => unknown;

/** The methods a `RequestHandler` answers unless its class says otherwise; any other is a 405. @internal */
export const SUPPORTED_METHODS: readonly string[] = Object.freeze(["GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"]);
const METHOD_NAMES: ReadonlyMap<string, string> = new Map(SUPPORTED_METHODS.map((m) => [m, m.toLowerCase()]));

/** The methods the handler's class declares in its static `SUPPORTED_METHODS` (Tornado's class attribute). @internal */
export function supportedMethods(handler: object): readonly string[] {
  return (handler.constructor as { SUPPORTED_METHODS?: readonly string[] }).SUPPORTED_METHODS ?? SUPPORTED_METHODS;
}

/**
 * The handler's function for HTTP `method` (`get` for GET, `propfind` for PROPFIND), or null
 * when it has none. Only called for a method in `supportedMethods(handler)`. @internal
 */
export function handlerMethod(handler: object, method: string): HandlerMethodFunction | null {
  const self = handler as Record<string, unknown>;
  // GET by name: a named property load is cached where a computed one is not.
  let fn = method === "GET" ? self.get : self[METHOD_NAMES.get(method) ?? method.toLowerCase()];
  // Beyond Tornado: HEAD is answered from get() when there is no head().
  if (fn === undefined && method === "HEAD") fn = self.get;
  return typeof fn === "function" ? (fn as HandlerMethodFunction) : null;
}

/** The supported methods the handler defines (the `Allow` header of its 405). @internal */
export function implementedMethods(handler: object): string[] {
  return supportedMethods(handler).filter((m) => handlerMethod(handler, m) !== null);
}

/** The 405 for a method the handler does not define, with its `Allow` header. @internal */
export function methodNotAllowed(handler: object): HTTPError {
  return new HTTPError(405, undefined, { headers: { Allow: implementedMethods(handler).join(", ") } });
}
