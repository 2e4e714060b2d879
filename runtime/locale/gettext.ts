/**
 * gettext catalogs: `.po` files (the text translators edit) and `.mo` files (what `msgfmt`
 * compiles them to, which Tornado's `load_gettext_translations` reads), both into one
 * `Catalog`: messages by key (`context\x04msgid` with a context) and the plural rule.
 */

import { parsePluralForms, type PluralIndex } from "./plural-forms.js";

/** gettext's separator between a message's context and its id. @internal */
export const CONTEXT_SEPARATOR = "\x04";

/** One language's messages. @internal */
export interface Catalog {
  /** Translations by key; a plural message has one entry per form. */
  messages: Map<string, string[]>;
  /** From the `Plural-Forms` header, when the file has one. */
  plural: { nplurals: number; plural: PluralIndex } | undefined;
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", '"': '"', "\\": "\\", "'": "'", "?": "?" };

function unquote(literal: string, file: string, line: number): string {
  if (!literal.startsWith('"') || !literal.endsWith('"') || literal.length < 2) {
    throw new SyntaxError(`${file}:${line}: expected a quoted string, got ${JSON.stringify(literal)}`);
  }
  return literal.slice(1, -1).replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const c = ESCAPES[e];
    if (c === undefined) throw new SyntaxError(`${file}:${line}: unknown escape \\${e}`);
    return c;
  });
}

/**
 * The catalog of a `.po` file's text, as `msgfmt` would compile it: fuzzy entries and ones
 * without a translation are left out, obsolete (`#~`) entries ignored. A malformed file
 * throws a `SyntaxError` naming the line.
 * @internal
 */
export function parsePo(text: string, file = "<po>"): Catalog {
  const messages = new Map<string, string[]>();
  let header = "";
  type Entry = { ctx?: string; id?: string; plural?: string; strs: string[]; fuzzy: boolean };
  let entry: Entry = { strs: [], fuzzy: false };
  let target: { field: "ctx" | "id" | "plural" } | { index: number } | undefined;

  const flush = () => {
    if (entry.id !== undefined) {
      if (entry.id === "" && entry.ctx === undefined) header = entry.strs[0] ?? "";
      else if (!entry.fuzzy && entry.strs.length > 0 && entry.strs.every((s) => s !== "")) {
        messages.set(entry.ctx === undefined ? entry.id : entry.ctx + CONTEXT_SEPARATOR + entry.id, entry.strs);
      }
    }
    entry = { strs: [], fuzzy: false };
    target = undefined;
  };

  const lines = text.replace(/^\ufeff/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    const lineNo = i + 1;
    if (raw === "") continue;
    if (raw.startsWith("#")) {
      // Comments (and flags) belong to the entry that follows.
      if (entry.strs.length > 0) flush();
      if (raw.startsWith("#,") && /\bfuzzy\b/.test(raw)) entry.fuzzy = true;
      continue;
    }
    if (raw.startsWith('"')) {
      if (target === undefined) throw new SyntaxError(`${file}:${lineNo}: a string continues no keyword`);
      const value = unquote(raw, file, lineNo);
      if ("field" in target) entry[target.field] += value;
      else entry.strs[target.index] += value;
      continue;
    }
    const match = /^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$/.exec(raw);
    if (match === null) throw new SyntaxError(`${file}:${lineNo}: cannot read ${JSON.stringify(raw.slice(0, 40))}`);
    const [, keyword, index, literal] = match;
    const value = unquote(literal!, file, lineNo);
    // A msgctxt or msgid after a msgstr starts the next entry.
    if ((keyword === "msgctxt" || keyword === "msgid") && entry.strs.length > 0) flush();
    if (keyword === "msgctxt") {
      entry.ctx = value;
      target = { field: "ctx" };
    } else if (keyword === "msgid") {
      entry.id = value;
      target = { field: "id" };
    } else if (keyword === "msgid_plural") {
      entry.plural = value;
      target = { field: "plural" };
    } else {
      if (entry.id === undefined) throw new SyntaxError(`${file}:${lineNo}: msgstr without a msgid`);
      const at = index === undefined ? 0 : Number(index);
      entry.strs[at] = value;
      target = { index: at };
    }
  }
  flush();
  return { messages, plural: pluralOf(header, file) };
}

/**
 * The catalog of a compiled `.mo` file (either byte order). Throws when it is not one.
 * @internal
 */
export function parseMo(bytes: Buffer, file = "<mo>"): Catalog {
  if (bytes.length < 28) throw new SyntaxError(`${file} is too short to be a .mo file`);
  const magic = bytes.readUInt32LE(0);
  const little = magic === 0x950412de;
  if (!little && magic !== 0xde120495) throw new SyntaxError(`${file} is not a .mo file (bad magic number)`);
  const u32 = (at: number) => {
    if (at + 4 > bytes.length) throw new SyntaxError(`${file} is truncated`);
    return little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at);
  };
  const count = u32(8);
  const originals = u32(12);
  const translations = u32(16);
  const str = (table: number, i: number) => {
    const length = u32(table + i * 8);
    const offset = u32(table + i * 8 + 4);
    if (offset + length > bytes.length) throw new SyntaxError(`${file} is truncated`);
    return bytes.toString("utf8", offset, offset + length);
  };
  const messages = new Map<string, string[]>();
  let header = "";
  for (let i = 0; i < count; i++) {
    const key = str(originals, i).split("\0")[0]!;
    const forms = str(translations, i).split("\0");
    if (key === "") header = forms[0]!;
    else messages.set(key, forms);
  }
  return { messages, plural: pluralOf(header, file) };
}

function pluralOf(header: string, file: string): Catalog["plural"] {
  const line = /^Plural-Forms:\s*(.*)$/im.exec(header);
  if (line === null) return undefined;
  try {
    return parsePluralForms(line[1]!);
  } catch (error) {
    throw new SyntaxError(`${file}: ${(error as Error).message}`);
  }
}
