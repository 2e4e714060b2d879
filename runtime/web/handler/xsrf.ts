/**
 * A handler's XSRF token and check (Tornado's `xsrf_token`, `xsrf_form_html`,
 * `check_xsrf_cookie`). The token format is in ../xsrf.ts.
 */

import type { CookieOptions } from "../cookies.js";
import { checkXsrfToken, encodeXsrfToken, readXsrfCookie, xsrfInput, type RawXsrfToken } from "../xsrf.js";
import { HandlerUser } from "./user.js";

/**
 * The XSRF methods of `RequestHandler` (`xsrfToken`, `xsrfFormHtml`, `checkXsrfCookie`). Not
 * used on its own.
 * @internal
 */
export abstract class HandlerXsrf extends HandlerUser {
  private rawXsrf: RawXsrfToken | undefined;
  private maskedXsrf: string | undefined;

  /**
   * The XSRF token for this visitor, freshly masked for this response (Tornado's version 2,
   * `2|mask|masked token|timestamp`, or plain hex with `xsrfCookieVersion: 1`). On first use
   * without a valid XSRF cookie it sets one (`xsrfCookieName`, default `_xsrf`, with the
   * `xsrfCookieKwargs` options; 30 days when a user is logged in). Put it in forms (see
   * `xsrfFormHtml`) or send it as an `X-XSRFToken` header.
   *
   * @example
   * this.write({ csrf: this.xsrfToken }); // a single-page app echoes it in X-XSRFToken
   */
  get xsrfToken(): string {
    if (this.maskedXsrf === undefined) {
      const raw = this.xsrfRawToken();
      this.maskedXsrf = encodeXsrfToken(raw, this.settings.xsrfCookieVersion ?? 2);
      if (raw.version === null) {
        const options: CookieOptions = { ...this.settings.xsrfCookieKwargs };
        if (this.currentUser && !("expiresDays" in options)) options.expiresDays = 30;
        this.setCookie(this.settings.xsrfCookieName ?? "_xsrf", this.maskedXsrf, options);
      }
    }
    return this.maskedXsrf;
  }

  private xsrfRawToken(): RawXsrfToken {
    return (this.rawXsrf ??= readXsrfCookie(this.getCookie(this.settings.xsrfCookieName ?? "_xsrf")));
  }

  /**
   * The hidden `<input>` that carries the XSRF token in a form:
   * `<input type="hidden" name="_xsrf" value="…"/>`. Sets the XSRF cookie when needed.
   *
   * @example
   * this.write(`<form method="post">${this.xsrfFormHtml()}<button>Save</button></form>`);
   */
  xsrfFormHtml(): string {
    return xsrfInput(this.xsrfToken);
  }

  /**
   * Checks that the request repeats the XSRF cookie's token in the `_xsrf` argument or an
   * `X-XSRFToken` / `X-CSRFToken` header; a 403 otherwise. With the `xsrfCookies` setting it runs
   * before `prepare()` for every method but GET, HEAD and OPTIONS; override it to exempt a
   * handler (an API authenticated by a header, say).
   *
   * @example
   * override checkXsrfCookie() {} // this handler takes bearer tokens, not cookies
   */
  checkXsrfCookie(): void | Promise<void> {
    const headers = this.request.headers;
    const input = this.getArgument("_xsrf", null) || headers.get("X-Xsrftoken") || headers.get("X-Csrftoken");
    checkXsrfToken(input, this.xsrfRawToken().token);
  }
}
