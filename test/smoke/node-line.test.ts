/**
 * The smoke set runs on the Node line it was asked for (`TORNADO_NODE_LINE`, set by .ci/run),
 * and so do the `node` and `npm` it spawns: otherwise a green run would prove nothing about
 * that line.
 */
import { expect, it } from "vitest";
import { runCommand, tempDir } from "../helpers/cli.js";

it("runs on TORNADO_NODE_LINE, as do the node and npm on PATH", async () => {
  const line = process.env.TORNADO_NODE_LINE;
  if (line !== undefined) expect(`${process.versions.node.split(".")[0]}.x`).toBe(`${line}.x`);

  const { dir, remove } = tempDir("smoke-line");
  try {
    const node = await runCommand("node", ["--version"], dir);
    expect(node.stdout.trim()).toBe(process.version);
    // Outside a package, `npm version --json` lists the versions npm itself runs with.
    const npm = await runCommand("npm", ["version", "--json"], dir);
    expect(npm.code, npm.stderr).toBe(0);
    expect((JSON.parse(npm.stdout) as { node: string }).node).toBe(process.versions.node);
  } finally {
    remove();
  }
}, 30_000);
