/**
 * Every regular expression in the templates' TypeScript runs in linear time: a client's input
 * reaches them, and one pattern that backtracks over a long input (two `+` that can match the
 * same characters) stalls the whole server for seconds. Each regex literal and each
 * `new RegExp("…")` / `RegExp("…")` is given to recheck, a ReDoS checker that analyses the
 * pattern's automaton (and fuzzes what that cannot cover), with a fixed seed.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { check } from "recheck";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const TEMPLATES = join(import.meta.dirname, "../../templates");

interface FoundRegex {
  /** `templates/…:line` */
  where: string;
  source: string;
  flags: string;
}

function templateSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : templateSources(path);
    return /\.ts(\.hbs)?$/.test(entry.name) ? [path] : [];
  });
}

/** The regexes written in `file`; a `RegExp(…)` whose pattern is not a literal is reported as unchecked. */
function regexesIn(file: string): { found: FoundRegex[]; unchecked: string[] } {
  // A generator template's Handlebars tags ({{type}}, {{/if}}) become a plain name, so that
  // `{{/if}}` is not read as a regex and the rest parses as TypeScript.
  const raw = readFileSync(file, "utf8");
  const text = file.endsWith(".hbs") ? raw.replace(/\{\{\{?[^}]*\}?\}\}/g, "hbs_tag") : raw;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FoundRegex[] = [];
  const unchecked: string[] = [];
  const where = (node: ts.Node) => `${relative(join(TEMPLATES, ".."), file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const literalText = (node: ts.Node | undefined) =>
    node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const literal = node.getText(source);
      const end = literal.lastIndexOf("/");
      found.push({ where: where(node), source: literal.slice(1, end), flags: literal.slice(end + 1) });
    } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === "RegExp") {
      const [pattern, flags] = node.arguments ?? [];
      const patternText = literalText(pattern);
      const flagsText = flags === undefined ? "" : literalText(flags);
      if (patternText === undefined || flagsText === undefined) unchecked.push(where(node));
      else found.push({ where: where(node), source: patternText, flags: flagsText });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { found, unchecked };
}

/** recheck's verdict: "safe", or what is wrong and the input that shows it. */
async function verdict(source: string, flags: string): Promise<string> {
  const result = await check(source, flags, { randomSeed: 1, timeout: 30_000 });
  if (result.status === "safe") return "safe";
  if (result.status === "vulnerable") return `${result.complexity.summary}, e.g. ${result.attack.pattern.slice(0, 120)}`;
  return `${result.status}: ${result.status === "unknown" ? result.error.kind : ""}`;
}

const files = templateSources(TEMPLATES);
const all = files.map(regexesIn);
const regexes = all.flatMap((r) => r.found);

describe("the templates' regular expressions", () => {
  it("are found (the scan reads the templates)", () => {
    expect(files.length).toBeGreaterThan(10);
    expect(regexes.map((r) => r.where)).toContainEqual(expect.stringMatching(/^templates\/rest\/src\/schemas\.ts:\d+$/));
  });

  it("are all literals that can be checked", () => {
    expect(all.flatMap((r) => r.unchecked)).toEqual([]);
  });

  it("all run in linear time", async () => {
    const verdicts = [];
    for (const { where, source, flags } of regexes) verdicts.push({ where, regex: `/${source}/${flags}`, verdict: await verdict(source, flags) });
    expect(verdicts.filter((v) => v.verdict !== "safe")).toEqual([]);
  }, 120_000);

  it("would be caught if one backtracked: the REST template's old email pattern is flagged", async () => {
    expect(await verdict("^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$", "")).toMatch(/^2nd degree polynomial/);
    expect(await verdict("^(a+)+$", "")).toMatch(/^exponential/);
  });
});
