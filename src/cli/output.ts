/** Terminal output: colour only on a terminal and never with NO_COLOR. */

/**
 * Whether to colour output on a stream: it is a terminal, `NO_COLOR` is unset and `TERM` is
 * not `dumb`.
 *
 * @example
 * if (colorEnabled(process.stdout)) console.log("\x1b[32mok\x1b[0m");
 */
export function colorEnabled(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

const paint = (code: string) => (text: string) =>
  colorEnabled(process.stdout) && colorEnabled(process.stderr) ? `\x1b[${code}m${text}\x1b[0m` : text;

/**
 * Text styles for CLI output; plain text when colour is off.
 *
 * @example
 * console.log(style.green("✔"), "done");
 */
export const style = {
  bold: paint("1"),
  dim: paint("2"),
  red: paint("31"),
  green: paint("32"),
  yellow: paint("33"),
  cyan: paint("36"),
};

/**
 * A status line that updates in place on a terminal (elapsed seconds) and prints once
 * elsewhere.
 *
 * @example
 * const line = progressLine("Installing dependencies with npm");
 * await install();
 * line.done("Installed dependencies");
 */
export function progressLine(label: string, stream: NodeJS.WriteStream = process.stdout): { done(text: string): void; fail(text: string): void } {
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  let timer: NodeJS.Timeout | undefined;
  if (stream.isTTY) {
    const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    let i = 0;
    const draw = () => stream.write(`\r${style.cyan(frames[i++ % frames.length]!)} ${label}… ${style.dim(`${seconds()}s`)}\x1b[K`);
    draw();
    timer = setInterval(draw, 100);
  } else {
    stream.write(`${label}…\n`);
  }
  const end = (mark: string, text: string) => {
    clearInterval(timer);
    stream.write(`${stream.isTTY ? "\r" : ""}${mark} ${text} ${style.dim(`(${seconds()}s)`)}${stream.isTTY ? "\x1b[K" : ""}\n`);
  };
  return {
    done: (text) => end(style.green("✔"), text),
    fail: (text) => end(style.red("✖"), text),
  };
}
