// Express 5 + pg: the Express contender of bench/slowdb.mjs, with the slow-db template's two
// endpoints used there, the same SQL and a pg.Pool of the same size.
// GET /reports/slow?seconds=0.2 -> {"report":"slow","seconds":…,"orders":…,"revenueCents":…,"tookMs":…}
//                                   (the template's query: orders CROSS JOIN pg_sleep($1))
// GET /health                   -> {"status":"ok","database":"postgres","queries":{…},"uptimeSeconds":…}
//                                   (no database work, like the template's)
// Environment: DATABASE_URL, DATABASE_SCHEMA (search_path; the tornado app created the table
// there), DATABASE_POOL_SIZE (default 10, the template's default), PORT (0 = any free port).
// Listens on 127.0.0.1 and prints "PORT=<n>" once listening.
import express from "express";
import pg from "pg";

const schema = process.env.DATABASE_SCHEMA ?? "public";
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  options: `-c search_path="${schema.replaceAll('"', '""')}"`,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
});
pool.on("error", (error) => console.error(`PostgreSQL: an idle connection failed: ${error.message}`));

const app = express();
app.get("/health", (req, res) => {
  res.json({
    status: "ok",
    database: "postgres",
    queries: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
    uptimeSeconds: Math.round(process.uptime()),
  });
});
app.get("/reports/slow", async (req, res) => {
  const seconds = req.query.seconds === undefined ? 2 : Number(req.query.seconds);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 60) {
    res.status(400).json({ error: { status: 400, message: "seconds must be a number from 0 to 60" } });
    return;
  }
  const started = performance.now();
  const { rows } = await pool.query(
    `SELECT count(*)::int AS orders, sum(amount_cents)::float8 AS "revenueCents"
       FROM orders CROSS JOIN pg_sleep($1)`,
    [seconds],
  );
  res.json({ report: "slow", seconds, ...rows[0], tookMs: Math.round(performance.now() - started) });
});

const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", (error) => {
  if (error) throw error;
  console.log(`PORT=${server.address().port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    pool.end().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
