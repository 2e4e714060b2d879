import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
const file = process.argv[2]; const route = process.argv[3] ?? "/"; const n = Number(process.argv[4] ?? 6);
const prefix = process.env.PIN_SERVER ? ["taskset", ["-c", process.env.PIN_SERVER, process.execPath, file]] : [process.execPath, [file]];
const child = spawn(prefix[0], prefix[1], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, PORT: "0" } });
const port = await new Promise((r) => child.stdout.on("data", (d) => { const m = /PORT=(\d+)/.exec(String(d)); if (m) r(Number(m[1])); }));
const cpu = (pid) => { const s = readFileSync(`/proc/${pid}/stat`, "utf8"); const f = s.slice(s.lastIndexOf(")") + 2).split(" "); return (Number(f[11]) + Number(f[12])) / 100; };
const run = (d) => new Promise((res, rej) => autocannon({ url: `http://127.0.0.1:${port}${route}`, connections: 100, duration: d }, (e, r) => e ? rej(e) : res(r)));
await run(1);
for (let i = 0; i < n; i++) {
  const c0 = cpu(child.pid), u0 = process.cpuUsage();
  const r = await run(3);
  const c1 = cpu(child.pid), u1 = process.cpuUsage(u0);
  console.log(`${Math.round(r.requests.average)} req/s  server ${Math.round((c1 - c0) / r.duration * 100)}%  loadgen ${Math.round((u1.user + u1.system) / 1e4 / r.duration)}% (sys ${Math.round(u1.system / 1e4 / r.duration)}%)`);
}
child.kill();
