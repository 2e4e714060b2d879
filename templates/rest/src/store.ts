/** A user as the API returns it. */
export interface User {
  id: string;
  name: string;
  email: string;
  createdAt: string;
}

/** The fields a client may set. */
export type UserInput = Pick<User, "name" | "email">;

/**
 * The store holds as many users as it may: creating one more is refused.
 *
 * @example
 * catch (e) { if (e instanceof StoreFullError) throw new HTTPError(507, e.message); }
 */
export class StoreFullError extends Error {
  readonly code = "ERR_STORE_FULL";
  constructor(readonly maxUsers: number) {
    super(`the store holds at most ${maxUsers} users: delete some first`);
    this.name = "StoreFullError";
  }
}

/**
 * Users kept in memory. Its methods are async, like a database's, so swapping in a real one
 * (PostgreSQL through `pg`, say) changes this file and nothing else. Memory is not a
 * database: it holds at most `maxUsers` (default 10,000), so clients cannot fill the process.
 *
 * @example
 * const users = new UserStore({ maxUsers: 100 });
 */
export class UserStore {
  private readonly users = new Map<string, User>();
  private nextId = 1;
  readonly maxUsers: number;

  constructor({ maxUsers = 10_000 }: { maxUsers?: number } = {}) {
    this.maxUsers = maxUsers;
  }

  async list(limit: number, offset: number): Promise<{ items: User[]; total: number }> {
    const all = [...this.users.values()];
    return { items: all.slice(offset, offset + limit), total: all.length };
  }

  async get(id: string): Promise<User | undefined> {
    return this.users.get(id);
  }

  async create(input: UserInput): Promise<User> {
    if (this.users.size >= this.maxUsers) throw new StoreFullError(this.maxUsers);
    const user: User = { id: String(this.nextId++), ...input, createdAt: new Date().toISOString() };
    this.users.set(user.id, user);
    return user;
  }

  async update(id: string, changes: Partial<UserInput>): Promise<User | undefined> {
    const user = this.users.get(id);
    if (!user) return undefined;
    const updated = { ...user, ...changes };
    this.users.set(id, updated);
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    return this.users.delete(id);
  }
}
