/**
 * The request being served, carried through everything its handler starts (timers, promises,
 * callbacks) by an `AsyncLocalStorage`: the process guard names it in uncaught errors, and log
 * lines take their request fields from it. Not a public module.
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** What is known of the request in flight. */
export interface RequestContext {
  /** The route's pattern. */
  route: string;
  /** The route's name, when it has one (logs prefer it to the pattern). */
  name: string | undefined;
  request: { readonly requestId: string; readonly method: string; readonly path: string; toString(): string };
}

/**
 * The store; `requestContext.run(context, fn)` serves a request inside it.
 *
 * @example
 * requestContext.run({ route: "/orders/:id", name: "order", request }, () => handler._execute(…));
 */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * The fields a log line carries about the request in flight, if there is one.
 *
 * @example
 * requestFields() // { requestId: "…", method: "GET", path: "/orders/7", route: "order" }
 */
export function requestFields(): { requestId: string; method: string; path: string; route: string } | undefined {
  const current = requestContext.getStore();
  if (current === undefined) return undefined;
  const { request } = current;
  return { requestId: request.requestId, method: request.method, path: request.path, route: current.name ?? current.route };
}
