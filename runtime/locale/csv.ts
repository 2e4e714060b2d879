/**
 * Tornado's CSV translation files (`es_LA.csv`): rows of `phrase,translation[,plural]` in
 * Excel's dialect (quoted fields, `""` for a quote, line breaks inside quotes), UTF-8 (with or
 * without a byte-order mark) or UTF-16 with one.
 */

/** One file's translations by plural indicator, as Tornado keeps them. @internal */
export type CsvTable = Partial<Record<"plural" | "singular" | "unknown", Map<string, string>>>;

/** A row that was skipped, and why (logged by the loader). @internal */
export interface CsvProblem {
  line: number;
  message: string;
}

/**
 * The text of a CSV file's bytes: UTF-16 when it starts with a UTF-16 byte-order mark, else
 * UTF-8 without its mark (Excel writes one), as Tornado detects it.
 * @internal
 */
export function decodeCsv(bytes: Buffer, encoding?: BufferEncoding): string {
  if (encoding !== undefined) return stripBom(bytes.toString(encoding));
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString("utf16le");
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    swapped.swap16();
    return swapped.toString("utf16le");
  }
  return stripBom(bytes.toString("utf8"));
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Splits CSV text into rows of fields (Excel dialect), each with the line it starts on.
 * @internal
 */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      started = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      started = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      if (started || field !== "") fields.push(field);
      rows.push({ line: rowLine, fields });
      fields = [];
      field = "";
      started = false;
      line++;
      rowLine = line;
    } else {
      field += c;
      started = true;
    }
  }
  if (started || field !== "") fields.push(field);
  if (fields.length > 0) rows.push({ line: rowLine, fields });
  return rows;
}

/**
 * The translations of one CSV file, as Tornado's `load_translations` reads them: rows with
 * fewer than two fields are skipped, fields are trimmed, a third field is `plural`,
 * `singular`, `unknown` or empty; a row with another indicator is reported and skipped.
 * @internal
 */
export function csvTranslations(text: string): { table: CsvTable; problems: CsvProblem[] } {
  const table: CsvTable = {};
  const problems: CsvProblem[] = [];
  for (const { line, fields } of parseCsv(text)) {
    if (fields.length < 2) continue;
    const [english, translation, indicator = ""] = fields.map((f) => f.trim());
    const plural = indicator || "unknown";
    if (plural !== "plural" && plural !== "singular" && plural !== "unknown") {
      problems.push({ line, message: `Unrecognized plural indicator ${JSON.stringify(plural)}` });
      continue;
    }
    (table[plural] ??= new Map()).set(english!, translation!);
  }
  return { table, problems };
}
