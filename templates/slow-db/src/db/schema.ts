/**
 * The schema, created on first start: one table of orders, filled with 10,000 made-up rows when
 * it is empty so that the reports have data. The tables go in the connection's schema
 * (DATABASE_SCHEMA, or public), which tornado/db puts first on the search path.
 */

/** How many orders a new database starts with. */
export const SEED_ORDERS = 10_000;

/**
 * The statements that create the schema. Safe to run on every start and from several processes
 * at once: they run in one transaction under an advisory lock, and only create what is missing.
 *
 * @example
 * await db.query(schemaSql());
 */
export function schemaSql(): string {
  return `
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('slow-db schema ' || current_schema()));
CREATE TABLE IF NOT EXISTS orders (
  id bigserial PRIMARY KEY,
  customer text NOT NULL,
  amount_cents integer NOT NULL CHECK (amount_cents > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer);
INSERT INTO orders (customer, amount_cents, created_at)
  SELECT 'customer-' || lpad((g % 250)::text, 3, '0'),
         100 + (g * 7919) % 49900,
         now() - make_interval(mins => g)
  FROM generate_series(1, ${SEED_ORDERS}) AS g
  WHERE NOT EXISTS (SELECT 1 FROM orders);
COMMIT;`;
}
