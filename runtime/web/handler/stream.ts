/**
 * How a handler receives the request body: whole, before `prepare()` (the default), or streamed
 * chunk by chunk into `dataReceived(chunk)` after `prepare()` (Tornado's `stream_request_body`),
 * with back-pressure and a body limit of the handler's own.
 */

import { HTTPInputError } from "../../httputil/body.js";
import { Finish, HTTPError } from "../errors.js";
import { HandlerEtag } from "./etag.js";

/** A handler class that can be marked to stream its body. */
type StreamableClass = abstract new (...args: any[]) => HandlerStream;

/**
 * The body methods of `RequestHandler`. Not used on its own.
 * @internal
 */
export abstract class HandlerStream extends HandlerEtag {
  /**
   * Stream the request body to `dataReceived(chunk)` instead of reading it whole (Tornado's
   * `@stream_request_body`). The order is then: `initialize` → `prepare` → `dataReceived` for
   * each chunk → the method (`post`, `put`, …). `request.body` stays empty. The server's
   * `maxBodySize` still applies unless `setMaxBodySize()` in `prepare()` sets another.
   *
   * @example
   * class UploadHandler extends RequestHandler {
   *   static override streamRequestBody = true;
   *   private bytes = 0;
   *   prepare() { this.setMaxBodySize(10 * 1024 ** 3); }
   *   override async dataReceived(chunk: Buffer) { this.bytes += chunk.length; await this.file.write(chunk); }
   *   async put() { this.finish({ bytes: this.bytes }); }
   * }
   */
  static streamRequestBody = false;

  /**
   * Receives the next chunk of a streamed body (a class with `streamRequestBody`), after
   * `prepare()` and before the method. While the promise it returns is pending, nothing more
   * is read from the socket (the client is slowed, not buffered). Throwing (an `HTTPError(413)`,
   * say) stops the upload: the error is answered and the connection closes without reading the
   * rest. If the client goes away mid-body, `onConnectionClose()` is called and the method is not.
   *
   * @example
   * override async dataReceived(chunk: Buffer) {
   *   if ((this.received += chunk.length) > this.quota) throw new HTTPError(413, "over quota");
   *   await this.out.write(chunk);
   * }
   */
  dataReceived(_chunk: Buffer): void | Promise<void> {
    throw new Error(`${this.constructor.name} has streamRequestBody set but no dataReceived(chunk) method`);
  }

  /**
   * Sets the largest body this request may have, in bytes, over the server's `maxBodySize`
   * (Tornado's `request.connection.set_max_body_size`). Call it in `prepare()` of a handler with
   * `streamRequestBody`: a whole body is read before `prepare()`. A bigger body is a 413 and the
   * connection closes.
   *
   * @example
   * prepare() { this.setMaxBodySize(this.currentUser?.admin ? 5 * 1024 ** 3 : 10 * 1024 ** 2); }
   */
  setMaxBodySize(bytes: number): void {
    this.request.connection?.setMaxBodySize?.(bytes);
  }

  /** Whether this handler's class streams its body. @internal */
  protected _streamsBody(): boolean {
    return (this.constructor as typeof HandlerStream).streamRequestBody === true;
  }

  /**
   * Reads the whole body into `request.body` (if one is coming) and checks its framing and limits.
   * @internal
   */
  protected _readBody(): void | Promise<void> {
    const request = this.request;
    const connection = request.connection;
    if (connection?.bodyExpected) {
      return connection.readBody().then(
        (body) => {
          request.body = body;
          checkBody(this);
        },
        (e: unknown) => {
          throw e instanceof HTTPInputError ? new HTTPError(e.status, e.message, { cause: e }) : e;
        },
      );
    }
    checkBody(this);
  }

  /**
   * Streams the body (if one is coming) into `dataReceived`; a connection that cannot stream
   * (an upgrade request's) hands over the whole body as one chunk.
   * @internal
   */
  protected async _streamBody(): Promise<void> {
    const connection = this.request.connection;
    if (!connection?.bodyExpected) return;
    // A handler that answered from dataReceived() reads no more.
    const onChunk = (chunk: Buffer) => {
      if (this.finished) throw new Finish();
      return this.dataReceived(chunk);
    };
    try {
      if (connection.streamBody !== undefined) await connection.streamBody(onChunk);
      else await onChunk(await connection.readBody());
    } catch (e) {
      throw e instanceof HTTPInputError ? new HTTPError(e.status, e.message, { cause: e }) : e;
    }
  }
}

// Limits and framing only: the body is parsed when the handler reads its arguments.
function checkBody(handler: HandlerStream): void {
  try {
    handler.request.checkBody();
  } catch (e) {
    if (e instanceof HTTPInputError) throw new HTTPError(e.status, `Invalid body: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Marks a handler class to stream its request body to `dataReceived(chunk)`, as Tornado's
 * `@stream_request_body` decorator does; the same as `static override streamRequestBody = true`.
 * Works as a function and as a (TypeScript 5 or legacy) class decorator.
 *
 * @example
 * const Upload = streamRequestBody(class extends RequestHandler {
 *   async dataReceived(chunk: Buffer) { await sink.write(chunk); }
 *   async put() { this.finish("stored"); }
 * });
 * // or: @streamRequestBody class Upload extends RequestHandler { … }
 */
export function streamRequestBody<T extends StreamableClass>(handlerClass: T, _context?: unknown): T {
  (handlerClass as unknown as { streamRequestBody: boolean }).streamRequestBody = true;
  return handlerClass;
}
