/** `TemplateError`, and how an error thrown inside Handlebars learns where it happened. */

/**
 * A template that cannot be loaded or rendered: a syntax error, a missing file or partial, a
 * missing helper, or an error thrown by a helper. `file` (relative to the loader's root) and
 * `line` say where; the message starts with them, as `page.hbs:12: …`. The original error, if
 * any, is the `cause`.
 *
 * @example
 * try { await loader.render("page.hbs", {}); }
 * catch (e) { if (e instanceof TemplateError) console.error(e.file, e.line, e.message); }
 */
export class TemplateError extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_TEMPLATE";
  /** The template file, relative to the loader's root (`<string>` for `compile()`d source). */
  readonly file: string | undefined;
  /** The 1-based line in `file`, when known. */
  readonly line: number | undefined;

  constructor(detail: string, where: { file?: string; line?: number; cause?: unknown } = {}) {
    const prefix = where.file === undefined ? "" : where.line === undefined ? `${where.file}: ` : `${where.file}:${where.line}: `;
    super(prefix + detail, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = "TemplateError";
    this.file = where.file;
    this.line = where.line;
  }
}

/** Where an error thrown while rendering happened, filled in on its way out. @internal */
export interface ErrorPlace {
  file?: string;
  line?: number;
}

const places = new WeakMap<object, ErrorPlace>();

/**
 * The place record of a thrown value, created on first use (a thrown non-object is wrapped in
 * an `Error` first, so it can carry one).
 * @internal
 */
export function placeOf(error: unknown): { error: object; place: ErrorPlace } {
  const target = error !== null && typeof error === "object" ? error : new Error(String(error));
  let place = places.get(target);
  if (place === undefined) places.set(target, (place = {}));
  return { error: target, place };
}

// Handlebars appends " - line:column" to errors it can place.
const HANDLEBARS_PLACE = / - \d+:\d+$/;
const PARSE_ERROR = /^(?:Parse|Lexical) error on line (\d+)[:.]\s*/;

/**
 * Turns an error Handlebars threw (while parsing, compiling or rendering `file`) into a
 * `TemplateError` that names the file and line.
 * @internal
 */
export function templateErrorFrom(error: unknown, fallback: ErrorPlace): TemplateError {
  if (error instanceof TemplateError) return error;
  const place = error !== null && typeof error === "object" ? placeOf(error).place : {};
  const file = place.file ?? fallback.file;
  let line = place.line ?? fallback.line;
  let detail = error instanceof Error ? error.message : String(error);
  const parse = PARSE_ERROR.exec(detail);
  if (parse !== null) {
    line ??= Number(parse[1]);
    detail = `syntax error\n${detail.slice(parse[0].length)}`;
  } else {
    const lineNumber = (error as { lineNumber?: unknown } | null)?.lineNumber;
    if (typeof lineNumber === "number") line ??= lineNumber;
    detail = detail.replace(HANDLEBARS_PLACE, "");
  }
  return new TemplateError(detail, { file, line, cause: error });
}
