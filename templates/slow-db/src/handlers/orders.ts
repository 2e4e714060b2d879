import { HTTPError } from "tornado";
import { DatabaseHandler } from "./base.js";

interface Order {
  id: number;
  customer: string;
  amountCents: number;
  createdAt: Date;
}

const ORDER_COLUMNS = `id, customer, amount_cents AS "amountCents", created_at AS "createdAt"`;

/**
 * /orders: the latest orders (GET, `?limit=20`) and a new one (POST `{"customer", "amountCents"}`).
 * Everyday quick queries, next to the slow reports.
 */
export class OrdersHandler extends DatabaseHandler {
  async get(): Promise<void> {
    const limit = Math.trunc(this.numberArgument("limit", 20, 1, 100));
    const orders = await this.query<Order>(`SELECT ${ORDER_COLUMNS} FROM orders ORDER BY id DESC LIMIT $1`, [limit]);
    this.write({ orders });
  }

  async post(): Promise<void> {
    const { customer, amountCents } = validateOrder(this.jsonBody());
    const [order] = await this.query<Order>(
      `INSERT INTO orders (customer, amount_cents) VALUES ($1, $2) RETURNING ${ORDER_COLUMNS}`,
      [customer, amountCents],
    );
    this.setStatus(201);
    this.write(order!);
  }
}

function validateOrder(body: unknown): { customer: string; amountCents: number } {
  const { customer, amountCents } = (body ?? {}) as Record<string, unknown>;
  if (typeof customer !== "string" || customer.trim() === "" || customer.length > 100) {
    throw new HTTPError(400, "customer must be a non-empty string of at most 100 characters");
  }
  // PostgreSQL stores no NUL character in text: refuse it here, naming the field, rather
  // than let the INSERT fail as a 500.
  if (customer.includes("\0")) throw new HTTPError(400, "customer must not contain the NUL character (\\u0000)");
  if (typeof amountCents !== "number" || !Number.isInteger(amountCents) || amountCents < 1 || amountCents > 100_000_000) {
    throw new HTTPError(400, "amountCents must be a whole number from 1 to 100000000");
  }
  return { customer: customer.trim(), amountCents };
}
