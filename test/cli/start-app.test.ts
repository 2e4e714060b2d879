/**
 * `tornado start` on a small app (test/fixtures/start-app): draining on SIGTERM (readiness 503
 * at once, requests still served for the drain delay, then exit 0 after the app's shutdown
 * hooks), alone and with --workers; and with --workers 2 and a metrics port, one view of every
 * worker's metrics served by the primary (prom-client's AggregatorRegistry).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../helpers/dev.js";

const app = fileURLToPath(new URL("../fixtures/start-app/", import.meta.url));
const bin = fileURLToPath(new URL("../../bin/tornado.js", import.meta.url));
const running = new Set<ChildProcess>();

afterEach(async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  }
  running.clear();
});

// One request on a connection of its own, so that the cluster spreads them over the workers.
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      })
      .on("error", reject);
  });
}

// Runs `tornado start ARGS` in the fixture app; resolves once `ready` appears in its output.
async function start(args: string[], env: NodeJS.ProcessEnv, ready: string) {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, "start", "--entry", "main.js", ...args], {
    cwd: app,
    env: { ...process.env, PORT: String(port), NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const waitFor = async (text: string) => {
    const deadline = Date.now() + 30_000;
    while (!output.includes(text) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    if (!output.includes(text)) throw new Error(`no "${text}" in:\n${output}`);
  };
  await waitFor(ready);
  // Up to the app: listening is a little after the start line.
  for (let i = 0; i < 400; i++) {
    if (await get(port, "/health").then(() => true, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { port, child, output: () => output, waitFor, exit: once(child, "exit").then(([code]) => code as number | null) };
}

describe("tornado start on SIGTERM", () => {
  for (const workers of ["1", "2"]) {
    it(`with --workers ${workers}: readiness turns 503 at once, requests are still served for --drain-delay, then the shutdown hooks run and it exits 0`, async () => {
      const app = await start(["--workers", workers, "--drain-delay", "1500"], {}, workers === "1" ? "starting main.js" : "started 2 worker(s)");
      expect(await get(app.port, "/ready")).toEqual({ status: 200, body: '{"status":"ready"}' });
      const sent = Date.now();
      app.child.kill("SIGTERM");
      // The workers get the signal from the primary: give it a moment to arrive.
      let ready = await get(app.port, "/ready");
      for (let i = 0; i < 40 && ready.status === 200; i++) ready = await get(app.port, "/ready");
      expect(ready).toEqual({ status: 503, body: '{"status":"draining"}' });
      expect((await get(app.port, "/health")).status).toBe(200);
      expect(await app.exit).toBe(0);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(1500);
      expect(app.output().match(/shutdown hook ran in \d+/g)).toHaveLength(Number(workers));
      await expect(get(app.port, "/health")).rejects.toThrow();
    }, 60_000);
  }

  it("refuses a --drain-delay that is not a whole number of milliseconds, in one line", async () => {
    const child = spawn(process.execPath, [bin, "start", "--entry", "main.js", "--drain-delay", "soon"], { cwd: app, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toEqual(['error: --drain-delay must be a whole number of milliseconds (0 or more), not "soon".']);
  });
});

it("tornado start --workers 2 serves one view of every worker's metrics on the metrics port", async () => {
  const metricsPort = await freePort();
  const app = await start(["--workers", "2", "--drain-delay", "0"], { METRICS_PORT: String(metricsPort) }, "metrics of all workers on");
  expect(app.output()).toContain(`metrics of all workers on http://127.0.0.1:${metricsPort}/metrics`);
  // Until both workers have answered (on a loaded machine the second may listen later), then 20 more.
  const pids = new Set<number>();
  let sent = 0;
  for (; sent < 400 && pids.size < 2; sent++) pids.add(JSON.parse((await get(app.port, "/pid")).body).pid);
  for (let i = 0; i < 20; i++, sent++) await get(app.port, "/pid");
  expect(pids.size).toBe(2);
  const scrape = await get(metricsPort, "/metrics");
  expect(scrape.status).toBe(200);
  // One view: every request counted, whichever worker served it.
  const line = scrape.body.split("\n").find((l) => l.startsWith('tornado_http_requests_total{route="pid",method="GET",status="200"}'));
  expect(line?.split(" ")[1]).toBe(String(sent));
  app.child.kill("SIGTERM");
  expect(await app.exit).toBe(0);
  await expect(get(metricsPort, "/metrics")).rejects.toThrow();
}, 60_000);
