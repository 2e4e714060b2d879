/**
 * gettext's `Plural-Forms` header (`nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : …);`):
 * its C expression parsed into a function, never evaluated as code.
 */

/** Picks the plural form for a count. @internal */
export type PluralIndex = (n: number) => number;

/**
 * The plural function of a `Plural-Forms` header value, or throws a `SyntaxError` saying what
 * is wrong. The expression may use `n`, integers, `! * / % + - < <= > >= == != && || ?:` and
 * parentheses, as gettext allows.
 * @internal
 */
export function parsePluralForms(header: string): { nplurals: number; plural: PluralIndex } {
  const nplurals = /nplurals\s*=\s*(\d+)/.exec(header);
  const plural = /plural\s*=\s*([^;]+)/.exec(header);
  if (nplurals === null || plural === null) throw new SyntaxError(`Plural-Forms must have nplurals= and plural=: ${JSON.stringify(header)}`);
  return { nplurals: Number(nplurals[1]), plural: compile(plural[1]!.trim()) };
}

type Node = (n: number) => number;
const TOKEN = /\s*(?:(\d+)|(n)|(&&|\|\||==|!=|<=|>=|[-+*/%<>!?:()]))/y;

function compile(source: string): PluralIndex {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (match === null) {
      if (/^\s*$/.test(source.slice(at))) break;
      throw new SyntaxError(`Unexpected ${JSON.stringify(source.slice(at, at + 10))} in plural expression ${JSON.stringify(source)}`);
    }
    tokens.push(match[1] ?? match[2] ?? match[3]!);
  }
  let pos = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} in plural expression ${JSON.stringify(source)}`);
  };
  const peek = () => tokens[pos];
  const take = (token: string) => {
    if (tokens[pos] !== token) fail(`Expected ${JSON.stringify(token)}`);
    pos++;
  };
  const binary = (next: () => Node, ops: Record<string, (a: number, b: number) => number>) => (): Node => {
    let left = next();
    for (let op = ops[peek() ?? ""]; op !== undefined; op = ops[peek() ?? ""]) {
      pos++;
      const l = left;
      const r = next();
      const f = op;
      left = (n) => f(l(n), r(n));
    }
    return left;
  };
  const primary = (): Node => {
    const token = tokens[pos++];
    if (token === "n") return (n) => n;
    if (token !== undefined && /^\d+$/.test(token)) {
      const value = Number(token);
      return () => value;
    }
    if (token === "(") {
      const inner = ternary();
      take(")");
      return inner;
    }
    if (token === "!") {
      const operand = primary();
      return (n) => (operand(n) ? 0 : 1);
    }
    if (token === "-") {
      const operand = primary();
      return (n) => -operand(n);
    }
    return fail(token === undefined ? "Unexpected end" : `Unexpected ${JSON.stringify(token)}`);
  };
  const int = (x: number) => (Number.isFinite(x) ? Math.trunc(x) : 0);
  const mul = binary(primary, { "*": (a, b) => a * b, "/": (a, b) => (b === 0 ? 0 : int(a / b)), "%": (a, b) => (b === 0 ? 0 : a % b) });
  const add = binary(mul, { "+": (a, b) => a + b, "-": (a, b) => a - b });
  const rel = binary(add, { "<": (a, b) => +(a < b), "<=": (a, b) => +(a <= b), ">": (a, b) => +(a > b), ">=": (a, b) => +(a >= b) });
  const eq = binary(rel, { "==": (a, b) => +(a === b), "!=": (a, b) => +(a !== b) });
  const and = binary(eq, { "&&": (a, b) => +(a !== 0 && b !== 0) });
  const or = binary(and, { "||": (a, b) => +(a !== 0 || b !== 0) });
  function ternary(): Node {
    const condition = or();
    if (peek() !== "?") return condition;
    pos++;
    const yes = ternary();
    take(":");
    const no = ternary();
    return (n) => (condition(n) ? yes(n) : no(n));
  }
  const root = ternary();
  if (pos !== tokens.length) fail(`Unexpected ${JSON.stringify(tokens[pos])}`);
  return (n) => root(Math.abs(Math.trunc(n)));
}
