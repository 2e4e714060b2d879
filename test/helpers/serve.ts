/** The usual harness of a runtime test file: one app server per test, closed after it. */

import { afterEach } from "vitest";
import { Application, createTestServer, type ApplicationSettings, type RouteSpec, type TestServer } from "../../runtime/index.js";
import { destroyRawConnections } from "./raw.js";

/**
 * Returns `serve(routes, settings)`, which starts an Application on a free port; after each
 * test the server it started is closed and raw test connections are destroyed.
 *
 * @example
 * const serve = servePerTest({ compressResponse: true });
 * const t = await serve([["/", Home]]);
 */
export function servePerTest(defaults: ApplicationSettings = {}): (routes: RouteSpec[], settings?: ApplicationSettings) => Promise<TestServer> {
  let server: TestServer | undefined;
  afterEach(async () => {
    destroyRawConnections();
    await server?.close();
    server = undefined;
  });
  return async (routes, settings = defaults) => {
    server = await createTestServer(new Application(routes, settings));
    return server;
  };
}

/**
 * The error `fn` throws synchronously (fails the test when it throws nothing).
 *
 * @example
 * expect(thrownBy(() => queue.getNowait())).toBeInstanceOf(QueueEmpty);
 */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("did not throw");
}
