-- 10,000 made-up orders, so that the reports have data. Runs on every start (and with
-- `npm run db:seed`), in one transaction; it adds nothing once the table has rows.
INSERT INTO orders (customer, amount_cents, created_at)
  SELECT 'customer-' || lpad((g % 250)::text, 3, '0'),
         100 + (g * 7919) % 49900,
         now() - make_interval(mins => g)
  FROM generate_series(1, 10000) AS g
  WHERE NOT EXISTS (SELECT 1 FROM orders);
