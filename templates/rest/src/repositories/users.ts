import type { Queryable } from "tornado/db";

/** A user as the API returns it. */
export interface User {
  id: string;
  name: string;
  email: string;
  createdAt: string;
}

/** The fields a client may set. */
export type UserInput = Pick<User, "name" | "email">;

/** The columns read back, as the API returns them: the id as a string, the time in ISO 8601 (UTC). */
const COLUMNS = `id::text AS id, name, email, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`;

/**
 * The users, in the `users` table (migrations/20261207000000000_create_users.sql) of the app's
 * database, so every process of the app (`--workers`) and every host sees the same ones. SQL
 * with parameters only: a value from a client is a `$n`, never SQL text.
 *
 * @example
 * const users = new UserRepository(openDatabase());
 * const { items, total } = await users.list(20, 0);
 */
export class UserRepository {
  private readonly db: Queryable;

  constructor(db: Queryable) {
    this.db = db;
  }

  async list(limit: number, offset: number): Promise<{ items: User[]; total: number }> {
    const [count] = await this.db.query<{ total: string | number }>("SELECT count(*) AS total FROM users");
    const items = await this.db.query<User>(`SELECT ${COLUMNS} FROM users ORDER BY id LIMIT $1 OFFSET $2`, [
      limit,
      offset,
    ]);
    return { items, total: Number(count!.total) };
  }

  async get(id: string): Promise<User | undefined> {
    const [user] = await this.db.query<User>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return user;
  }

  async create(input: UserInput): Promise<User> {
    const [user] = await this.db.query<User>(`INSERT INTO users (name, email) VALUES ($1, $2) RETURNING ${COLUMNS}`, [
      input.name,
      input.email,
    ]);
    return user!;
  }

  /** Sets the fields given; undefined when there is no such user. */
  async update(id: string, changes: Partial<UserInput>): Promise<User | undefined> {
    const [user] = await this.db.query<User>(
      `UPDATE users SET name = coalesce($2, name), email = coalesce($3, email), updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, changes.name ?? null, changes.email ?? null],
    );
    return user;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.query(`DELETE FROM users WHERE id = $1 RETURNING id`, [id])).length > 0;
  }
}
