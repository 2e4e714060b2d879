import { HTTPError } from "tornado";
import { StoreFullError, type User, type UserInput, type UserStore } from "../store.js";
import { parsePage, validateUser, validateUserChanges } from "../validation.js";
import { ApiHandler } from "./base.js";

class UserResource extends ApiHandler {
  protected get users(): UserStore {
    const users = this.settings.users;
    if (!users) throw new Error("the users setting is missing");
    return users;
  }

  protected async findUser(id: string): Promise<User> {
    const user = await this.users.get(id);
    if (!user) throw new HTTPError(404, `no user with id ${id}`);
    return user;
  }

  protected async updateUser(id: string, changes: Partial<UserInput>): Promise<User> {
    const user = await this.users.update(id, changes);
    if (!user) throw new HTTPError(404, `no user with id ${id}`);
    return user;
  }
}

/** /users: list (with ?limit= and ?offset=) and create. */
export class UsersHandler extends UserResource {
  async get(): Promise<void> {
    const { limit, offset } = parsePage(this.getArgument("limit", undefined), this.getArgument("offset", undefined));
    const { items, total } = await this.users.list(limit, offset);
    this.write({ items, total, limit, offset });
  }

  async post(): Promise<void> {
    const input = validateUser(this.jsonBody());
    const user = await this.users.create(input).catch((error: unknown) => {
      // 507 Insufficient Storage (RFC 4918 §11.5): the request was fine, there is no room for it.
      if (error instanceof StoreFullError) throw new HTTPError(507, error.message);
      throw error;
    });
    this.setStatus(201);
    this.setHeader("Location", this.reverseUrl("user", user.id));
    this.write(user);
  }
}

/** /users/:id: read, replace (PUT), update (PATCH) and delete one user. */
export class UserHandler extends UserResource {
  async get(id: string): Promise<void> {
    this.write(await this.findUser(id));
  }

  async put(id: string): Promise<void> {
    this.write(await this.updateUser(id, validateUser(this.jsonBody())));
  }

  async patch(id: string): Promise<void> {
    this.write(await this.updateUser(id, validateUserChanges(this.jsonBody())));
  }

  async delete(id: string): Promise<void> {
    if (!(await this.users.delete(id))) throw new HTTPError(404, `no user with id ${id}`);
    this.setStatus(204);
  }
}
