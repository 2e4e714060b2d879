/** Python-style named placeholders, as Tornado's translations use them (`%(name)s`). */

const PLACEHOLDER = /%(?:\((\w+)\)([sdif])|%)/g;

/**
 * Fills `%(name)s` (text) and `%(name)d` (an integer) placeholders in `message` from `values`;
 * `%%` is a literal `%`. The strings Tornado's CSV and gettext files hold use this form. A
 * placeholder without a value throws, naming it.
 *
 * @example
 * interpolate(locale.translate("%(name)s liked this", "%(name)s liked these", n), { name: "Ann" })
 * interpolate("%(count)d%% done", { count: 42 }) // "42% done"
 */
export function interpolate(message: string, values: Readonly<Record<string, unknown>> = {}): string {
  return message.replace(PLACEHOLDER, (whole, name: string | undefined, kind: string | undefined) => {
    if (name === undefined) return "%";
    if (!Object.hasOwn(values, name)) throw new Error(`No value for %(${name})${kind} in ${JSON.stringify(message)}`);
    const value = values[name];
    if (kind === "d" || kind === "i") return String(Math.trunc(Number(value)));
    if (kind === "f") return Number(value).toFixed(6);
    return String(value);
  });
}

/** Python's `round()`: halves go to the even neighbour. @internal */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The BCP 47 tag of a Tornado locale code (`pt_BR` → `pt-BR`), `en` when it is not one. @internal */
export function languageTag(code: string): string {
  try {
    return Intl.getCanonicalLocales(code.replace(/_/g, "-"))[0] ?? "en";
  } catch {
    return "en";
  }
}
