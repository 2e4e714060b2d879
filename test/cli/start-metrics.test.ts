/**
 * `tornado start --workers 2` with a metrics port: the primary serves the sum over both workers
 * (prom-client's AggregatorRegistry), so one scrape sees every request whichever worker served it.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { freePort } from "../helpers/dev.js";

const app = fileURLToPath(new URL("../fixtures/metrics-app/", import.meta.url));
const bin = fileURLToPath(new URL("../../bin/tornado.js", import.meta.url));

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

it("tornado start --workers 2 serves one view of every worker's metrics on the metrics port", async () => {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [bin, "start", "--workers", "2", "--entry", "main.js"], {
    cwd: app,
    env: { ...process.env, PORT: String(port), METRICS_PORT: String(metricsPort), NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  try {
    const deadline = Date.now() + 30_000;
    while (!output.includes("metrics of all workers on") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(output).toContain(`metrics of all workers on http://127.0.0.1:${metricsPort}/metrics`);
    const pids = new Set<number>();
    // Both workers listen (each sends the primary its 'listening'); ask until both answered.
    for (let i = 0; i < 40; i++) pids.add(JSON.parse((await get(port, "/pid")).body).pid);
    expect(pids.size).toBe(2);
    const scrape = await get(metricsPort, "/metrics");
    expect(scrape.status).toBe(200);
    const line = scrape.body.split("\n").find((l) => l.startsWith('tornado_http_requests_total{route="pid",method="GET",status="200"}'));
    expect(line?.split(" ")[1]).toBe("40");
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
  expect(child.exitCode).toBe(0);
  await expect(get(metricsPort, "/metrics")).rejects.toThrow();
}, 60_000);
