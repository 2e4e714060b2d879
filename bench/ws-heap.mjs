#!/usr/bin/env node
// What one idle WebSocket connection keeps on the server's heap, by constructor: a heap snapshot
// of the server (node --expose-gc, `v8.writeHeapSnapshot()` after a full GC) before and after
// `--connections` idle connections are opened, the self sizes of the objects summed by type and
// constructor, and the difference divided by the number of connections.
//
//   node bench/ws-heap.mjs [--server tornado|ws] [--connections 2000] [--top 25]
//   npm run build && cd bench && npm ci && node ws-heap.mjs --server tornado   (from the repository root)
//
// The server (the same two as ws.mjs: this runtime's echo WebSocketHandler, or a raw `ws`
// WebSocketServer) runs in a child process; this process opens the connections (the `ws`
// client, no compression offered) and reads the two snapshots (written to a temporary
// directory, removed afterwards). Prints the per-connection total and the largest rows.

import { fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), "..");
const RUNTIME_INDEX = path.join(ROOT, "dist", "runtime", "index.js");
const RUNTIME_WEBSOCKET = path.join(ROOT, "dist", "runtime", "websocket.js");
const requireFromRuntime = createRequire(RUNTIME_WEBSOCKET);

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1];
}

async function gcTwice() {
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  globalThis.gc();
}

async function serve(which) {
  let port;
  if (which === "tornado") {
    const { Application } = await import(pathToFileURL(RUNTIME_INDEX).href);
    const { WebSocketHandler } = await import(pathToFileURL(RUNTIME_WEBSOCKET).href);
    class Echo extends WebSocketHandler {
      onMessage(message) {
        this.writeMessage(message);
      }
    }
    const server = await new Application([["/", Echo]]).listen(0, "127.0.0.1");
    port = server.port;
  } else {
    const { WebSocketServer } = requireFromRuntime("ws");
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    wss.on("connection", (ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on("error", () => {});
    });
    await new Promise((resolve) => wss.once("listening", resolve));
    port = wss.address().port;
  }
  process.on("message", async ({ snapshot }) => {
    await gcTwice();
    process.send({ written: v8.writeHeapSnapshot(snapshot) });
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ port });
}

// Self size by "type constructor", summed over every node of the snapshot.
function sizesByConstructor(file) {
  const snapshot = JSON.parse(readFileSync(file, "utf8"));
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields.length;
  const typeAt = meta.node_fields.indexOf("type");
  const nameAt = meta.node_fields.indexOf("name");
  const sizeAt = meta.node_fields.indexOf("self_size");
  const types = meta.node_types[typeAt];
  const { nodes, strings } = snapshot;
  const sizes = new Map();
  for (let i = 0; i < nodes.length; i += fields) {
    const type = types[nodes[i + typeAt]];
    // Strings and code are grouped by type: their "names" are their contents.
    const name = type === "object" || type === "closure" || type === "native" ? strings[nodes[i + nameAt]] : "";
    const key = `${type} ${name}`.trim();
    const entry = sizes.get(key) ?? { size: 0, count: 0 };
    entry.size += nodes[i + sizeAt];
    entry.count++;
    sizes.set(key, entry);
  }
  return sizes;
}

// With --retainers: the objects made since the first snapshot, by what holds them (the
// constructor and property of their first retainer), largest first.
function printRetainers(beforeFile, afterFile, connections, top) {
  const idOf = (snapshot) => snapshot.snapshot.meta.node_fields.indexOf("id");
  const first = JSON.parse(readFileSync(beforeFile, "utf8"));
  const fieldsA = first.snapshot.meta.node_fields.length;
  let maxId = 0;
  for (let i = idOf(first); i < first.nodes.length; i += fieldsA) maxId = Math.max(maxId, first.nodes[i]);
  const snapshot = JSON.parse(readFileSync(afterFile, "utf8"));
  const meta = snapshot.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [typeAt, nameAt, idAt, sizeAt, edgesAt] = ["type", "name", "id", "self_size", "edge_count"].map((f) => meta.node_fields.indexOf(f));
  const edgeTypes = meta.edge_types[meta.edge_fields.indexOf("type")];
  const types = meta.node_types[typeAt];
  const { nodes, edges, strings } = snapshot;
  const label = (n) => {
    const type = types[nodes[n + typeAt]];
    return type === "object" || type === "closure" || type === "native" ? `${type} ${strings[nodes[n + nameAt]]}` : type;
  };
  const parent = new Map();
  let e = 0;
  for (let n = 0; n < nodes.length; n += nf) {
    for (let k = 0; k < nodes[n + edgesAt]; k++, e += ef) {
      const edgeType = edgeTypes[edges[e]];
      if (edgeType === "weak" || edgeType === "shortcut") continue;
      const to = edges[e + 2];
      if (parent.has(to) || nodes[to + idAt] <= maxId) continue;
      const name = edgeType === "element" || edgeType === "hidden" ? `[${edgeType}]` : String(strings[edges[e + 1]]);
      parent.set(to, { from: n, edge: name });
    }
  }
  const groups = new Map();
  for (let n = 0; n < nodes.length; n += nf) {
    if (nodes[n + idAt] <= maxId) continue;
    // Two levels of retainers: enough to tell whose `properties` or `elements` an array is.
    const chain = [];
    for (let at = n, depth = 0; depth < 2; depth++) {
      const up = parent.get(at);
      if (up === undefined) break;
      chain.push(`${label(up.from)}.${up.edge}`);
      at = up.from;
    }
    const key = `${label(n)} <- ${chain.join(" <- ") || "?"}`;
    groups.set(key, (groups.get(key) ?? 0) + nodes[n + sizeAt]);
  }
  const rows = [...groups].sort((a, b) => b[1] - a[1]).slice(0, top * 2);
  console.log("| new object <- first retainer.edge | B/conn |\n| --- | ---: |");
  for (const [key, size] of rows) console.log(`| ${key} | ${(size / connections).toFixed(1)} |`);
}

async function main() {
  const which = option("server", "tornado");
  const connections = Number(option("connections", "2000"));
  const top = Number(option("top", "25"));
  const dir = mkdtempSync(path.join(tmpdir(), "ws-heap-"));
  const child = fork(SELF, [], { execArgv: ["--expose-gc"], env: { ...process.env, WS_HEAP_ROLE: which, NODE_ENV: "production" } });
  const replies = [];
  let wake = () => {};
  child.on("message", (message) => {
    replies.push(message);
    wake();
  });
  const reply = async () => {
    while (replies.length === 0) await new Promise((resolve) => (wake = resolve));
    return replies.shift();
  };
  try {
    const { port } = await reply();
    const { WebSocket } = requireFromRuntime("ws");
    const url = `ws://127.0.0.1:${port}/`;
    const connect = () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        ws.once("error", reject);
        ws.once("open", () => resolve(ws));
      });
    // Warm-up: the code paths compiled, the lazily made shared objects made.
    for (let i = 0; i < 50; i++) {
      const ws = await connect();
      ws.send("warm-up");
      await new Promise((resolve) => ws.once("message", resolve));
      ws.close();
      await new Promise((resolve) => ws.once("close", resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.send({ snapshot: path.join(dir, "before.heapsnapshot") });
    const before = (await reply()).written;
    const open = [];
    for (let i = 0; i < connections; i += 100) {
      open.push(...(await Promise.all(Array.from({ length: Math.min(100, connections - i) }, connect))));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    child.send({ snapshot: path.join(dir, "after.heapsnapshot") });
    const after = (await reply()).written;
    const a = sizesByConstructor(before);
    const b = sizesByConstructor(after);
    const rows = [];
    let total = 0;
    for (const [key, { size, count }] of b) {
      const was = a.get(key) ?? { size: 0, count: 0 };
      const delta = size - was.size;
      total += delta;
      rows.push({ key, bytes: delta / connections, objects: (count - was.count) / connections });
    }
    for (const [key, { size, count }] of a) {
      if (!b.has(key)) {
        total -= size;
        rows.push({ key, bytes: -size / connections, objects: -count / connections });
      }
    }
    rows.sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes));
    if (process.argv.includes("--retainers")) printRetainers(before, after, connections, top);
    console.log(`${which}: ${connections} idle connections, Node ${process.version}: ${(total / connections).toFixed(0)} B per connection (heap snapshot self sizes)`);
    console.log("| type and constructor | B/conn | objects/conn |\n| --- | ---: | ---: |");
    for (const row of rows.slice(0, top)) console.log(`| ${row.key} | ${row.bytes.toFixed(1)} | ${row.objects.toFixed(2)} |`);
    for (const ws of open) ws.terminate();
  } finally {
    child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.WS_HEAP_ROLE) await serve(process.env.WS_HEAP_ROLE);
else await main();
