/**
 * nginx from Debian's packages, started for a test on loopback in front of an app's processes,
 * with the app's own `deploy/nginx.conf` (its ports replaced by the test's).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whether nginx is installed; with CI=true a missing one is an error (.ci/run installs it). */
export function nginxAvailable(): boolean {
  const found = spawnSync("nginx", ["-v"]).status === 0;
  if (!found && process.env.CI === "true") throw new Error("nginx is not installed, and CI=true: apt-get install nginx-light (see .ci/run)");
  if (!found) console.warn("skipping the nginx tests: nginx is not installed (apt-get install nginx-light)");
  return found;
}

/** A running nginx. */
export interface Nginx {
  port: number;
  /** nginx's error log so far. */
  errors(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx with the app's `deploy/nginx.conf`, its upstream ports (8001, 8002, 8003) mapped
 * to `upstreams` and its `listen 8080` to `port` on 127.0.0.1.
 *
 * @example
 * const lb = await startNginx(join(app, "deploy/nginx.conf"), await freePort(), [p1, p2, p3]);
 */
export async function startNginx(confFile: string, port: number, upstreams: number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "nginx-"));
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub));
  chmodSync(dir, 0o755);
  let site = readFileSync(confFile, "utf8").replace(/listen 8080;/, `listen 127.0.0.1:${port};`);
  upstreams.forEach((upstream, i) => (site = site.replace(`127.0.0.1:${8001 + i}`, `127.0.0.1:${upstream}`)));
  writeFileSync(join(dir, "site.conf"), site);
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
  );
  const child: ChildProcess = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const errors = () => {
    try {
      return stderr + readFileSync(join(dir, "error.log"), "utf8");
    } catch {
      return stderr;
    }
  };
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => resolve(socket.end() !== undefined)).on("error", () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || i > 100) throw new Error(`nginx did not start:\n${errors()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    errors,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill("SIGQUIT");
        await once(child, "exit");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
