/**
 * The messages between the blocking `HTTPClient` and its worker thread, and how requests,
 * responses and errors cross (structured clone carries data, not classes or functions).
 */

import { HTTPHeaders } from "../httputil/headers.js";
import { HTTPClientError, HTTPStreamClosedError, HTTPTimeoutError } from "./errors.js";
import type { AsyncHTTPClientOptions } from "./client.js";
import type { HTTPRequest, HTTPRequestOptions } from "./request.js";
import { HTTPResponse } from "./response.js";

/** What the worker starts with. @internal */
export interface WorkerInit {
  /** Slot 0 counts the messages the worker has posted; the blocked thread waits on it. */
  wake: Int32Array;
  port: import("node:worker_threads").MessagePort;
  options: AsyncHTTPClientOptions;
}

/** Request options that survive a structured clone (no callbacks, no signal). @internal */
export type WireRequestOptions = Omit<HTTPRequestOptions, "streamingCallback" | "headerCallback" | "signal" | "headers"> & {
  headers: string[];
};

/** @internal */
export type ToWorker =
  | { type: "fetch"; id: number; url: string; options: WireRequestOptions; streaming: boolean; headerLines: boolean }
  | { type: "abort"; id: number };

/** @internal */
export interface WireResponse {
  code: number;
  reason: string;
  headers: string[];
  body: Uint8Array;
  effectiveUrl: string;
  requestTime: number;
  startTime: number;
}

/** @internal */
export interface WireError {
  kind: "timeout" | "closed" | "client" | "type" | "error";
  name: string;
  message: string;
  code?: number;
  cause?: { message: string; code?: string };
}

/** @internal */
export type FromWorker =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "header"; id: number; line: string }
  | { type: "chunk"; id: number; chunk: Uint8Array }
  | { type: "done"; id: number; response: WireResponse }
  | { type: "error"; id: number; error: WireError };

/** @internal */
export function requestToWire(request: HTTPRequest): WireRequestOptions {
  const options: WireRequestOptions = { method: request.method, headers: [...request.headers.toFlat()] };
  if (request.body !== undefined) options.body = new Uint8Array(request.body);
  for (const key of [
    "authUsername",
    "authPassword",
    "authMode",
    "connectTimeout",
    "requestTimeout",
    "ifModifiedSince",
    "followRedirects",
    "maxRedirects",
    "userAgent",
    "decompressResponse",
    "allowNonstandardMethods",
    "validateCert",
    "caCerts",
    "clientCert",
    "clientKey",
    "proxyHost",
    "proxyPort",
    "proxyUsername",
    "proxyPassword",
    "proxyAuthMode",
  ] as const) {
    if (request[key] !== undefined) (options as Record<string, unknown>)[key] = request[key];
  }
  return options;
}

/** @internal */
export function requestFromWire(options: WireRequestOptions): HTTPRequestOptions {
  return { ...options, headers: pairs(options.headers) };
}

/** The response, and what to transfer rather than copy. @internal */
export function responseToWire(response: HTTPResponse): { wire: WireResponse; transfer: ArrayBuffer[] } {
  const body = response.body;
  // A small Buffer is a view on node's shared pool: transferring that would take it from
  // everyone, so only a body that owns its memory is transferred.
  const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer;
  const wire: WireResponse = {
    code: response.code,
    reason: response.reason,
    headers: [...response.headers.toFlat()],
    body: owned ? body : new Uint8Array(body),
    effectiveUrl: response.effectiveUrl,
    requestTime: response.requestTime,
    startTime: response.startTime,
  };
  return { wire, transfer: owned ? [body.buffer as ArrayBuffer] : [] };
}

/** @internal */
export function responseFromWire(wire: WireResponse, request: HTTPRequest): HTTPResponse {
  return new HTTPResponse({
    request,
    code: wire.code,
    reason: wire.reason,
    headers: HTTPHeaders.fromFlat(wire.headers, false),
    body: Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength),
    effectiveUrl: wire.effectiveUrl,
    requestTime: wire.requestTime,
    startTime: wire.startTime,
  });
}

/** @internal */
export function errorToWire(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  const wire: WireError = {
    kind:
      e instanceof HTTPTimeoutError
        ? "timeout"
        : e instanceof HTTPStreamClosedError
          ? "closed"
          : e instanceof HTTPClientError
            ? "client"
            : e instanceof TypeError
              ? "type"
              : "error",
    name: e.name,
    message: e.message,
  };
  if (e instanceof HTTPClientError) wire.code = e.code;
  const cause = e.cause;
  if (cause instanceof Error) {
    wire.cause = { message: cause.message };
    const code = (cause as NodeJS.ErrnoException).code;
    if (typeof code === "string") wire.cause.code = code;
  }
  return wire;
}

/** @internal */
export function errorFromWire(wire: WireError): Error {
  let cause: Error | undefined;
  if (wire.cause) {
    cause = new Error(wire.cause.message);
    if (wire.cause.code !== undefined) (cause as NodeJS.ErrnoException).code = wire.cause.code;
  }
  const options = cause ? { cause } : undefined;
  switch (wire.kind) {
    case "timeout":
      return new HTTPTimeoutError(wire.message);
    case "closed":
      return new HTTPStreamClosedError(wire.message, options);
    case "client":
      return new HTTPClientError(wire.code ?? 599, wire.message, undefined, options);
    case "type":
      return new TypeError(wire.message, options);
    default: {
      const error = new Error(wire.message, options);
      error.name = wire.name;
      return error;
    }
  }
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
