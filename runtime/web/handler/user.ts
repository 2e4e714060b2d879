/** A handler's current user (Tornado's `get_current_user` / `current_user`) and login URL. */

import { HandlerCookies } from "./cookies.js";
import { isThenable } from "./types.js";

/**
 * The user methods of `RequestHandler` (`getCurrentUser`, `currentUser`, `getLoginUrl`). Not
 * used on its own.
 * @internal
 */
export abstract class HandlerUser extends HandlerCookies {
  private user: { value: any } | undefined;

  /**
   * Override to say who is logged in (from a signed cookie, a session store, a token); may be
   * async. Its result is awaited once per request, before `prepare()`, and kept in
   * `currentUser`. The default is no user (`null`).
   *
   * @example
   * override async getCurrentUser() {
   *   const id = this.getSignedCookie("user");
   *   return id === null ? null : await this.settings.db.findUser(id);
   * }
   */
  getCurrentUser(): unknown {
    return null;
  }

  /**
   * The logged-in user: what `getCurrentUser()` gave for this request (awaited before
   * `prepare()`), or what the handler assigned (`this.currentUser = user` in `prepare()`, say).
   * Read before `getCurrentUser()` has been awaited, it calls it, and throws if the result is a
   * Promise.
   *
   * @example
   * this.write({ name: this.currentUser?.name ?? "guest" });
   */
  get currentUser(): any {
    if (this.user === undefined) {
      const result = this.getCurrentUser();
      if (isThenable(result)) throw new Error("currentUser is not known yet: the async getCurrentUser() is awaited before prepare(); read currentUser from prepare() on");
      this.user = { value: result };
    }
    return this.user.value;
  }

  set currentUser(value: any) {
    this.user = { value };
  }

  /**
   * Where `authenticated` sends visitors who are not logged in: the `loginUrl` setting (an error
   * when it is not set). Override to choose per request.
   *
   * @example
   * override getLoginUrl() { return `/login?lang=${this.getCookie("lang", "en")}`; }
   */
  getLoginUrl(): string {
    this.requireSetting("loginUrl", "@authenticated");
    return this.settings.loginUrl!;
  }

  /**
   * Whether the lifecycle must await `getCurrentUser()` before `prepare()`: the handler
   * overrides it and no user has been set or read yet.
   * @internal
   */
  protected _currentUserPending(): boolean {
    return this.user === undefined && this.getCurrentUser !== HandlerUser.prototype.getCurrentUser;
  }
}
