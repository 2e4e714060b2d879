/** The headers every response gets from the state of the process, not of the handler. */

import type { HTTPHeaders } from "../../httputil/headers.js";
import { isDraining } from "../../httpserver/registry.js";
import { logFormat } from "../../log.js";

/**
 * Adds `X-Request-Id` (with the `requestIds` setting, or JSON logs) and, while the process drains
 * (SIGTERM under `tornado start`), `Connection: close`, so that a load balancer holds no idle
 * connection to it when it stops accepting.
 *
 * @example
 * addProcessHeaders(this.headers, this.settings.requestIds, this.request);
 */
export function addProcessHeaders(headers: HTTPHeaders, requestIds: boolean | undefined, request: { readonly requestId: string }): void {
  if (requestIds ?? logFormat() === "json") headers.set("X-Request-Id", request.requestId);
  if (isDraining()) headers.set("Connection", "close");
}
