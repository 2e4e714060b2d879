import { HTTPError } from "tornado/web";
import type { AppSettings } from "../app.js";
import { type UserInput as StoredInput, type User as StoredUser, UserRepository } from "../repositories/users.js";
import { ApiError, Page, User, UserChanges, UserId, UserInput, UserPage } from "../schemas.js";
import { withApiSchemas } from "./base.js";

const notFound = { schema: ApiError, description: "No user with this id" };
const tags = ["users"];

/** The users in the app's database (its `db` setting). */
function usersOf(settings: AppSettings): UserRepository {
  if (!settings.db) throw new Error("the db setting is missing: src/main.ts passes openDatabase() to makeApp()");
  return new UserRepository(settings.db);
}

/** /users: list (with ?limit= and ?offset=) and create. */
export class UsersHandler extends withApiSchemas({
  get: { query: Page, responses: { 200: UserPage }, summary: "List users, a page at a time", tags },
  post: { body: UserInput, responses: { 201: User }, summary: "Create a user", tags },
}) {
  async get(): Promise<void> {
    const { limit, offset } = this.valid("get").query;
    const { items, total } = await usersOf(this.settings).list(limit, offset);
    this.write({ items, total, limit, offset });
  }

  async post(): Promise<void> {
    const user = await usersOf(this.settings).create(this.valid("post").body);
    this.setStatus(201);
    this.setHeader("Location", this.reverseUrl("user", user.id));
    this.write(user);
  }
}

/** /users/:id: read, replace (PUT), update (PATCH) and delete one user. */
export class UserHandler extends withApiSchemas({
  get: { path: UserId, responses: { 200: User, 404: notFound }, summary: "Read a user", tags },
  put: {
    path: UserId,
    body: UserInput,
    responses: { 200: User, 404: notFound },
    summary: "Replace a user's fields",
    tags,
  },
  patch: {
    path: UserId,
    body: UserChanges,
    responses: { 200: User, 404: notFound },
    summary: "Change some of a user's fields",
    tags,
  },
  delete: {
    path: UserId,
    responses: {
      204: { description: "Deleted" },
      404: notFound,
      409: { schema: ApiError, description: "Other rows still reference this user" },
    },
    summary: "Delete a user",
    tags,
  },
}) {
  async get(): Promise<void> {
    this.write(await this.findUser(this.valid("get").path.id));
  }

  async put(): Promise<void> {
    const { path, body } = this.valid("put");
    this.write(await this.updateUser(path.id, body));
  }

  async patch(): Promise<void> {
    const { path, body } = this.valid("patch");
    this.write(await this.updateUser(path.id, body));
  }

  async delete(): Promise<void> {
    const { id } = this.valid("delete").path;
    const deleted = await usersOf(this.settings)
      .delete(id)
      .catch((error: unknown) => {
        // A foreign key to users (a generated resource's user:references) still points at it.
        if ((error as { code?: unknown }).code === "23503")
          throw new HTTPError(409, `user ${id} is still referenced by other rows: delete those first`);
        throw error;
      });
    if (!deleted) throw new HTTPError(404, `no user with id ${id}`);
    this.setStatus(204);
  }

  private async findUser(id: string): Promise<StoredUser> {
    const user = await usersOf(this.settings).get(id);
    if (!user) throw new HTTPError(404, `no user with id ${id}`);
    return user;
  }

  private async updateUser(id: string, changes: Partial<StoredInput>): Promise<StoredUser> {
    const user = await usersOf(this.settings).update(id, changes);
    if (!user) throw new HTTPError(404, `no user with id ${id}`);
    return user;
  }
}
