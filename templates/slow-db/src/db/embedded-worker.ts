/**
 * The worker thread that holds the embedded database (PGlite): it opens the data folder, then
 * runs one statement per message and posts back the rows. PGlite runs a statement
 * synchronously, so it must not run on the server's own thread.
 *
 * The code is a string, not a module: a worker started from a `.ts` file would need the
 * TypeScript loader, which `tornado dev` has but vitest's workers do not. It is written to run
 * both as a script and as a module (a worker started from code inherits `--input-type`).
 */

/** One statement (`multi`: several, separated by `;`, without parameters). */
export interface Statement {
  sql: string;
  params: unknown[];
  multi: boolean;
}

/** From the server to the worker. */
export type WorkerRequest = (Statement & { id: number }) | { id: number; close: true };

/** From the worker to the server, about one statement. */
export type StatementReply = { id: number; rows: Record<string, unknown>[] } | { id: number; error: { message: string; code?: string } };

/** From the worker to the server. */
export type WorkerReply = { type: "open" } | { type: "failed"; message: string } | StatementReply;

/** What the worker is started with (`workerData`). */
export interface WorkerConfig {
  /** `file:` URL of `@electric-sql/pglite`, resolved by the server (a worker started from code resolves from the working folder). */
  pgliteUrl: string;
  dataDir: string;
}

/** The worker's source, for `new Worker(EMBEDDED_WORKER_SOURCE, { eval: true, workerData })`. */
export const EMBEDDED_WORKER_SOURCE = String.raw`
(async () => {
  const { parentPort, workerData } = await import("node:worker_threads");
  let db;
  try {
    const { PGlite } = await import(workerData.pgliteUrl);
    db = await PGlite.create(workerData.dataDir);
  } catch (error) {
    parentPort.postMessage({ type: "failed", message: error instanceof Error ? error.message : String(error) });
    return;
  }
  parentPort.postMessage({ type: "open" });
  // The server sends one statement at a time, so this handler is never re-entered.
  parentPort.on("message", async (request) => {
    try {
      if (request.close) {
        await db.close();
        parentPort.postMessage({ id: request.id, rows: [] });
      } else if (request.multi) {
        await db.exec(request.sql);
        parentPort.postMessage({ id: request.id, rows: [] });
      } else {
        const result = await db.query(request.sql, request.params);
        parentPort.postMessage({ id: request.id, rows: result.rows });
      }
    } catch (error) {
      parentPort.postMessage({ id: request.id, error: { message: error instanceof Error ? error.message : String(error), code: error && error.code } });
    }
  });
})();
`;
