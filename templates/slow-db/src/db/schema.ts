/**
 * The schema, created on first start by both databases (the same SQL for each): one table of
 * orders, filled with 10,000 made-up rows when it is empty so that the reports have data.
 */

/** How many orders a new database starts with. */
export const SEED_ORDERS = 10_000;

/**
 * The statements that create the schema in `schema` (PostgreSQL; `public` for the embedded
 * database). Safe to run on every start and from several processes at once: they run in one
 * transaction under an advisory lock, and only create what is missing.
 *
 * @example
 * await client.query(schemaSql("public"));
 */
export function schemaSql(schema: string): string {
  const name = quoteIdentifier(schema);
  return `
BEGIN;
SELECT pg_advisory_xact_lock(hashtext(${quoteLiteral(`slow-db schema ${schema}`)}));
CREATE SCHEMA IF NOT EXISTS ${name};
CREATE TABLE IF NOT EXISTS ${name}.orders (
  id bigserial PRIMARY KEY,
  customer text NOT NULL,
  amount_cents integer NOT NULL CHECK (amount_cents > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_customer ON ${name}.orders (customer);
INSERT INTO ${name}.orders (customer, amount_cents, created_at)
  SELECT 'customer-' || lpad((g % 250)::text, 3, '0'),
         100 + (g * 7919) % 49900,
         now() - make_interval(mins => g)
  FROM generate_series(1, ${SEED_ORDERS}) AS g
  WHERE NOT EXISTS (SELECT 1 FROM ${name}.orders);
COMMIT;`;
}

/**
 * A schema name as SQL (only plain names: lower-case letters, digits, `_`).
 *
 * @example
 * quoteIdentifier("test_1a2b") // "\"test_1a2b\""
 */
export function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`"${name}" is not a schema name this app accepts: use lower-case letters, digits and _`);
  }
  return `"${name}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
