import { z } from "zod";
import { ApiError, NewOrder, Order as OrderSchema, OrdersQuery } from "../schemas.js";
import { withDbSchemas } from "./base.js";

interface Order {
  id: number;
  customer: string;
  amountCents: number;
  createdAt: Date;
}

const tags = ["orders"];
const unavailable = {
  503: { schema: ApiError, description: "The database is starting or unavailable (Retry-After)" },
  504: { schema: ApiError, description: "The query ran past the query timeout and was cancelled" },
};

// pg hands a bigint (the bigserial id) over as a string: the cast makes it
// a number, as the Order schema says (ids stay far below 2^53).
const ORDER_COLUMNS = `id::float8 AS id, customer, amount_cents AS "amountCents", created_at AS "createdAt"`;

/**
 * /orders: the latest orders (GET, `?limit=20`) and a new one (POST `{"customer", "amountCents"}`).
 * Everyday quick queries, next to the slow reports.
 */
export class OrdersHandler extends withDbSchemas({
  get: { query: OrdersQuery, responses: { 200: z.object({ orders: z.array(OrderSchema) }), ...unavailable }, summary: "The latest orders", tags },
  post: { body: NewOrder, responses: { 201: OrderSchema, ...unavailable }, summary: "Place an order", tags },
}) {
  async get(): Promise<void> {
    const { limit } = this.valid("get").query;
    const orders = await this.query<Order>(`SELECT ${ORDER_COLUMNS} FROM orders ORDER BY id DESC LIMIT $1`, [limit]);
    this.write({ orders: orders.map(asJson) });
  }

  async post(): Promise<void> {
    const { customer, amountCents } = this.valid("post").body;
    const [order] = await this.query<Order>(
      `INSERT INTO orders (customer, amount_cents) VALUES ($1, $2) RETURNING ${ORDER_COLUMNS}`,
      [customer, amountCents],
    );
    this.setStatus(201);
    this.write(asJson(order!));
  }
}

// What the client receives: the timestamp as ISO 8601 text (the Order schema's createdAt).
function asJson(order: Order): z.infer<typeof OrderSchema> {
  return { ...order, createdAt: new Date(order.createdAt).toISOString() };
}
