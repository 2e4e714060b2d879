/**
 * How a handler answers with an error (internal to handler.ts): `sendError()`'s response, and
 * what the lifecycle does with an error one of its steps threw (the error page through
 * `sendError()`; when even that fails a plain 500 or, last, a cut connection).
 */

import { HTTPInputError } from "../../httputil/body.js";
import { StreamClosedError } from "../../iostream.js";
import { appLog, genLog } from "../../log.js";
import { Finish, HTTPError } from "../errors.js";
import type { HTTPServerRequest } from "../../httputil/request.js";
import { isThenable, type Chunk, type ErrorDetails } from "./types.js";

// What of a RequestHandler these functions use (named here, not imported: handler.ts imports
// this module).
interface RequestHandler {
  readonly request: HTTPServerRequest;
  readonly finished: boolean;
  readonly headersWritten: boolean;
  finish(chunk?: Chunk): void;
  clear(): void;
  setStatus(status: number, reason?: string): void;
  setHeader(name: string, value: string | number | Date): void;
  logException(error: unknown): void;
  sendError(status?: number, details?: ErrorDetails): void | Promise<void>;
  writeError(status: number, details?: ErrorDetails): void | Promise<void>;
}

/**
 * Answers for `error`, thrown by a step of `handler`'s lifecycle; the promise (when the error
 * page is written asynchronously) never rejects.
 * @internal
 */
export function lifecycleFailed(handler: RequestHandler, error: unknown): Promise<void> | undefined {
  let pending: void | Promise<void>;
  try {
    pending = handleRequestException(handler, error);
  } catch (inner) {
    lastResort(handler, inner);
    return undefined;
  }
  return pending ? pending.then(undefined, (inner: unknown) => lastResort(handler, inner)) : undefined;
}

function handleRequestException(handler: RequestHandler, e: unknown): void | Promise<void> {
  // A body parsed on first read (getArgument, files) can be malformed: the client's fault.
  if (e instanceof HTTPInputError) e = new HTTPError(e.status, `Invalid body: ${e.message}`, { cause: e });
  if (e instanceof Finish) {
    if (!handler.finished) handler.finish(e.body);
    return;
  }
  // A write to a client that has gone is not an application error; the request still ends
  // here, or a graceful close() would wait for it until its timeout.
  if (e instanceof StreamClosedError && handler.request.connection?.closed) {
    if (!handler.finished) {
      try {
        handler.finish();
      } catch (inner) {
        appLog.error("Error finishing a request whose client has gone", inner);
      }
    }
    return;
  }
  try {
    handler.logException(e);
  } catch (inner) {
    appLog.error("Error in exception logger", inner);
  }
  if (handler.finished) return;
  return handler.sendError(e instanceof HTTPError ? e.status : 500, { error: e });
}

function lastResort(handler: RequestHandler, inner: unknown): void {
  appLog.error("Exception in exception handler", inner);
  // Whatever failed (an HTTPError with a status that cannot answer, say), the client gets
  // an answer and the request leaves the server's in-flight count.
  if (handler.finished) return;
  const connection = handler.request.connection;
  try {
    handler.clear();
    handler.setStatus(500);
    handler.finish();
  } catch (last) {
    appLog.error("Cannot finish the request; closing its connection", last);
    if (!handler.finished) connection?.abort?.();
    connection?.finish();
  }
}

/**
 * `sendError()`: discards the headers and body written so far (`discardBody` empties the write
 * buffer) and writes the error page through `writeError()`; after headers were flushed it can
 * only log and end the response.
 * @internal
 */
export function sendErrorResponse(handler: RequestHandler, status: number, details: ErrorDetails, discardBody: () => void): void | Promise<void> {
  if (handler.headersWritten) {
    genLog.error("Cannot send error response after headers written");
    if (!handler.finished) {
      try {
        handler.finish();
      } catch (e) {
        genLog.error("Failed to flush partial response", e);
      }
    }
    // The body is cut short; closing tells the client so.
    handler.request.connection?.closeAfterResponse();
    return;
  }
  handler.clear();
  const error = details.error;
  const reason = error instanceof HTTPError && error.reason !== undefined ? error.reason : details.reason;
  handler.setStatus(status, reason);
  if (error instanceof HTTPError && error.headers) {
    for (const [name, value] of Object.entries(error.headers)) handler.setHeader(name, value);
  }
  const failed = (e: unknown) => {
    appLog.error("Uncaught exception in writeError", e);
    discardBody();
  };
  const end = () => {
    if (!handler.finished) handler.finish();
  };
  let result: void | Promise<void> = undefined;
  try {
    if (status !== 304) result = handler.writeError(status, details);
  } catch (e) {
    failed(e);
  }
  if (isThenable(result)) return Promise.resolve(result).then(end, (e) => (failed(e), end()));
  end();
}
