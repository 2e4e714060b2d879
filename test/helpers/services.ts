/**
 * The machine's services (Redis, PostgreSQL) for tests that need the real thing. In CI
 * (`CI=true`) a service that is down fails the run loudly; on a developer's machine its tests
 * are skipped with the reason printed.
 */

import { connect } from "node:net";

function reachable(host: string, port: number, timeout = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeout, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Whether a service answers on host:port. Throws when it does not and `CI=true`; otherwise
 * prints why its tests are skipped.
 *
 * @example
 * const redis = await requireService("Redis", "127.0.0.1", 6379);
 * describe.skipIf(!redis)("with Redis", () => { … });
 */
export async function requireService(name: string, host: string, port: number): Promise<boolean> {
  if (await reachable(host, port)) return true;
  const reason = `${name} is not reachable at ${host}:${port}`;
  if (process.env.CI === "true") throw new Error(`${reason}, and CI=true: start it (see .ci/run) and run again.`);
  console.warn(`skipping the tests that need ${name}: ${reason}`);
  return false;
}

/** The Redis URL tests use: `REDIS_URL`, or the machine's Redis. @example new RedisBackend(REDIS_URL) */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * The PostgreSQL URL tests use: `TEST_DATABASE_URL`, or the machine's PostgreSQL (trust auth,
 * database `test`). @example new URL(POSTGRES_URL).port // "5432"
 */
export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
