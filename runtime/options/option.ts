/** One defined option: its type, default, current value, and how it is parsed and set. */

import { OptionsError, describe, hasType, parseValue, typeName, typeOf, type OptionType } from "./values.js";

/** Everything `define` may be given (the typed overloads narrow it). @internal */
export interface OptionSpec {
  type?: OptionType;
  default?: unknown;
  help?: string;
  metavar?: string;
  multiple?: boolean;
  group?: string;
  callback?: (value: any) => void;
}

const UNSET = Symbol("unset");

/** @internal */
export class Option {
  readonly type: OptionType;
  readonly default: unknown;
  readonly help: string | undefined;
  readonly metavar: string | undefined;
  readonly multiple: boolean;
  readonly group: string;
  private readonly callback: ((value: unknown) => void) | undefined;
  private current: unknown = UNSET;

  constructor(
    /** The name as defined. */
    readonly name: string,
    /** The normalized name (`max-body-size`), as on the command line. */
    readonly key: string,
    spec: OptionSpec,
    /** The file that defined it ("" for the parser's own `help`). */
    readonly file: string,
  ) {
    this.multiple = spec.multiple ?? false;
    const sample = this.multiple ? (spec.default as unknown[] | undefined)?.[0] : spec.default;
    // Tornado: the default's type, else str. (For `multiple` it does not look inside the list; we do.)
    this.type = spec.type ?? (sample === undefined || sample === null ? String : typeOf(sample));
    this.default = spec.default ?? (this.multiple ? [] : undefined);
    this.help = spec.help;
    this.metavar = spec.metavar;
    this.group = spec.group || file;
    this.callback = spec.callback;
  }

  value(): unknown {
    if (this.current !== UNSET) return this.current;
    return Array.isArray(this.default) ? [...this.default] : this.default;
  }

  /** Sets the value from text, as given on the command line. */
  parse(text: string): void {
    let value: unknown;
    try {
      if (!this.multiple) value = parseValue(this.type, text);
      else value = text.split(",").flatMap((part) => this.parsePart(part));
    } catch (error) {
      throw new OptionsError("ERR_OPTION_VALUE", `Invalid value for option '${this.key}': ${(error as Error).message}`);
    }
    this.change(value);
  }

  // One item of a multiple option; a Number one may be an inclusive range `lo:hi`, as Tornado's int.
  private parsePart(part: string): unknown[] {
    const colon = part.indexOf(":");
    if (this.type !== Number || colon < 0) return [parseValue(this.type, part)];
    const lo = parseValue(Number, part.slice(0, colon)) as number;
    const hi = parseValue(Number, part.slice(colon + 1)) as number;
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new Error(`${JSON.stringify(part)} is not a range of integers`);
    const range: number[] = [];
    for (let n = lo; n <= hi; n++) range.push(n);
    return range;
  }

  /** Sets the value from code or a config module; it must already have the option's type. */
  set(value: unknown): void {
    const ok = this.multiple
      ? Array.isArray(value) && value.every((item) => item === null || item === undefined || hasType(this.type, item))
      : value === null || value === undefined || hasType(this.type, value);
    if (!ok) {
      const wanted = this.multiple ? `a list of ${typeName(this.type)}` : `a ${typeName(this.type)}`;
      throw new OptionsError("ERR_OPTION_VALUE", `Option '${this.key}' is required to be ${wanted} (${describe(value)} given)`);
    }
    this.change(value);
  }

  private change(value: unknown): void {
    this.current = value;
    this.callback?.(value);
  }
}
