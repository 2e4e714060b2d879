/**
 * What every part of a `RequestHandler` stands on: the application, the request, the settings.
 * The parts (arguments, cookies, user, XSRF, templates) extend it in that order, and
 * `RequestHandler` (../handler.ts) extends the last: each part sees only those below it.
 */

import type { HTTPHeaders } from "../../httputil/headers.js";
import type { HTTPServerRequest } from "../../httputil/request.js";
import type { ApplicationOf, SettingsOf } from "../application-type.js";
import type { Chunk } from "./types.js";

/**
 * The base of `RequestHandler`: its application and request. Not used on its own.
 * @internal
 */
export abstract class HandlerBase {
  readonly application: ApplicationOf;
  readonly request: HTTPServerRequest;

  constructor(application: ApplicationOf, request: HTTPServerRequest) {
    this.application = application;
    this.request = request;
  }

  /** The application's settings. @example this.settings.debug */
  get settings(): SettingsOf {
    return this.application.settings;
  }

  /**
   * Fails unless setting `name` is set, with an error that says which setting `feature` needs.
   *
   * @example
   * this.requireSetting("cookieSecret", "signed cookies");
   */
  requireSetting(name: string, feature = "this feature"): void {
    if (!this.settings[name]) throw new Error(`You must define the '${name}' setting in your application to use ${feature}`);
  }

  /**
   * Validates the request after `prepare()`, before the method; `withSchemas` (../schema/)
   * overrides it. A no-op here.
   * @internal
   */
  protected _validateRequest(): void | Promise<void> {}

  // The response, which RequestHandler owns; the parts reach it only through these.
  abstract finish(chunk?: Chunk): void;
  abstract get finished(): boolean;
  protected abstract _responseHeaders(): HTTPHeaders;
  protected abstract _writtenChunks(): readonly (string | Buffer)[];
}
