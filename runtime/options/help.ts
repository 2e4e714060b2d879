/** The `--help` text, laid out as Tornado's `print_help`. */

import type { Option } from "./option.js";
import { formatValue } from "./values.js";

const NAME_WIDTH = 30;
const HELP_WIDTH = 79 - 35;

/**
 * The usage line, then the options by group (sorted; the parser's own first, unheaded), each
 * as `--name=METAVAR  help (default …)`, help wrapped at column 79.
 * @internal
 */
export function formatHelp(program: string, options: Option[]): string {
  let text = `Usage: ${program} [OPTIONS]\n\nOptions:\n\n`;
  const groups = new Map<string, Option[]>();
  for (const option of options) {
    const list = groups.get(option.group) ?? [];
    list.push(option);
    groups.set(option.group, list);
  }
  for (const group of [...groups.keys()].sort()) {
    if (group) text += `\n${group} options:\n\n`;
    for (const option of groups.get(group)!.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
      const prefix = option.key + (option.metavar ? `=${option.metavar}` : "");
      let description = option.help ?? "";
      const shown = option.default === undefined || option.default === null ? "" : formatValue(option.type, option.default);
      if (shown !== "") description += `${description ? " " : ""}(default ${shown})`;
      const lines = wrap(description, HELP_WIDTH);
      if (prefix.length > NAME_WIDTH || lines.length === 0) lines.unshift("");
      text += `  --${prefix.padEnd(NAME_WIDTH)} ${lines[0]}`.trimEnd() + "\n";
      for (const line of lines.slice(1)) text += `${" ".repeat(34)} ${line}\n`;
    }
  }
  return text + "\n";
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
