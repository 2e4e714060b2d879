import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it, vi } from "vitest";
import {
  OptionParser,
  OptionsError,
  configureLogging,
  define,
  getLogger,
  options,
  parseCommandLine,
  parseConfigFile,
} from "../../runtime/index.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tornado-options-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Writes a file into the temp dir and returns its path. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

/** Swallows what would be printed on stderr (parseCommandLine prints the help there on an unknown option). */
function quietStderr() {
  return vi.spyOn(process.stderr, "write").mockImplementation(() => true);
}

describe("OptionParser.define(name, spec) and parseCommandLine(args)", () => {
  it("reads --name=value by the option's type and returns the arguments after the options", () => {
    const parser = new OptionParser();
    const port = parser.define("port", { default: 8888, help: "port to listen on" });
    const host = parser.define("host", { default: "127.0.0.1" });
    expect(port()).toBe(8888);
    expect(parser.parseCommandLine(["--port=9000", "--host=0.0.0.0", "serve", "--not-parsed"])).toEqual(["serve", "--not-parsed"]);
    expect(port()).toBe(9000);
    expect(host()).toBe("0.0.0.0");
    expect(parser.port).toBe(9000);
  });

  it("stops at --, accepts a single dash, and defaults to process.argv.slice(2)", () => {
    const parser = new OptionParser();
    parser.define("port", { default: 1 });
    expect(parser.parseCommandLine(["-port=2", "--", "--port=3"])).toEqual(["--port=3"]);
    expect(parser.port).toBe(2);
    vi.spyOn(process, "argv", "get").mockReturnValue(["node", "script.js", "--port=4", "rest"]);
    expect(parser.parseCommandLine()).toEqual(["rest"]);
    expect(parser.port).toBe(4);
  });

  it("treats dashes, underscores and camelCase in names alike", () => {
    const parser = new OptionParser();
    const size = parser.define("max_body_size", { default: 10 });
    parser.parseCommandLine(["--max-body-size=20"]);
    expect(size()).toBe(20);
    expect(parser.maxBodySize).toBe(20);
    expect(parser["max_body_size"]).toBe(20);
    expect(parser["max-body-size"]).toBe(20);
    parser.parseCommandLine(["--max_body_size=30"]);
    expect("maxBodySize" in parser).toBe(true);
    expect("nope" in parser).toBe(false);
    expect(size()).toBe(30);
  });

  it("takes a bare --flag as true for a Boolean, and true/false words as values", () => {
    const parser = new OptionParser();
    const debug = parser.define("debug", { default: false });
    parser.parseCommandLine(["--debug"]);
    expect(debug()).toBe(true);
    for (const [text, value] of [["false", false], ["0", false], ["F", false], ["no", false], ["TRUE", true], ["1", true], ["on", true]] as const) {
      parser.parseCommandLine([`--debug=${text}`]);
      expect(debug()).toBe(value);
    }
    const error = thrown(() => parser.parseCommandLine(["--debug=maybe"]));
    expect(error).toBeInstanceOf(OptionsError);
    expect(error.message).toBe(`Invalid value for option 'debug': "maybe" is not a boolean (use true or false)`);
  });

  it("refuses an unknown option with Tornado's message, after printing the help to stderr", () => {
    const parser = new OptionParser();
    const stderr = quietStderr();
    const error = thrown(() => parser.parseCommandLine(["--nope=1"]));
    expect(error).toBeInstanceOf(OptionsError);
    expect(error.code).toBe("ERR_UNRECOGNIZED_OPTION");
    expect(error.message).toBe("Unrecognized command line option: 'nope'");
    expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^Usage: .* \[OPTIONS\]/);
  });

  it("requires a value for an option that is not Boolean (no --name value form)", () => {
    const parser = new OptionParser();
    parser.define("port", { default: 1 });
    const error = thrown(() => parser.parseCommandLine(["--port", "80"]));
    expect(error.code).toBe("ERR_OPTION_VALUE");
    expect(error.message).toBe("Option 'port' requires a value (--port=…)");
  });

  it("refuses a value that is not of the option's type, naming both", () => {
    const parser = new OptionParser();
    parser.define("port", { type: Number });
    const error = thrown(() => parser.parseCommandLine(["--port=eighty"]));
    expect(error).toBeInstanceOf(OptionsError);
    expect(error.message).toBe(`Invalid value for option 'port': "eighty" is not a number`);
    expect(parser.port).toBeUndefined();
  });

  it("reads a multiple option as a comma-separated list, with inclusive integer ranges for Number", () => {
    const parser = new OptionParser();
    const hosts = parser.define("hosts", { type: String, multiple: true });
    const ports = parser.define("ports", { type: Number, multiple: true, default: [80] });
    expect(hosts()).toEqual([]);
    expect(ports()).toEqual([80]);
    parser.parseCommandLine(["--hosts=a.example,b.example", "--ports=8000:8002,9000"]);
    expect(hosts()).toEqual(["a.example", "b.example"]);
    expect(ports()).toEqual([8000, 8001, 8002, 9000]);
    expect(thrown(() => parser.parseCommandLine(["--ports=1.5:3"])).message).toMatch(/not a range of integers/);
  });

  it("reads Date in Tornado's formats (local time) and ISO 8601 with a zone", () => {
    const parser = new OptionParser();
    const since = parser.define("since", { type: Date });
    const cases: [string, Date][] = [
      ["2024-03-05 14:30:15", new Date(2024, 2, 5, 14, 30, 15)],
      ["2024-03-05 14:30", new Date(2024, 2, 5, 14, 30)],
      ["2024-03-05T14:30", new Date(2024, 2, 5, 14, 30)],
      ["20240305 14:30:15", new Date(2024, 2, 5, 14, 30, 15)],
      ["20240305", new Date(2024, 2, 5)],
      ["2024-03-05", new Date(2024, 2, 5)],
      ["Tue Mar  5 14:30:15 2024", new Date(2024, 2, 5, 14, 30, 15)],
      ["14:30", new Date(1900, 0, 1, 14, 30)],
      ["2024-03-05T14:30:15Z", new Date(Date.UTC(2024, 2, 5, 14, 30, 15))],
    ];
    for (const [text, expected] of cases) {
      parser.parseCommandLine([`--since=${text}`]);
      expect(since()?.getTime(), text).toBe(expected.getTime());
    }
    expect(thrown(() => parser.parseCommandLine(["--since=2024-02-30"])).message).toBe(
      `Invalid value for option 'since': Unrecognized date/time format: "2024-02-30"`,
    );
  });

  it('reads a "duration" as Tornado reads a timedelta, giving milliseconds', () => {
    const parser = new OptionParser();
    const timeout = parser.define("timeout", { type: "duration", default: 20_000 });
    for (const [text, ms] of [["45s", 45_000], ["500ms", 500], ["1h 30m", 5_400_000], ["1h30m", 5_400_000], ["2", 2000], ["1.5min", 90_000], ["1w 1d", 691_200_000]] as const) {
      parser.parseCommandLine([`--timeout=${text}`]);
      expect(timeout(), text).toBe(ms);
    }
    expect(thrown(() => parser.parseCommandLine(["--timeout=soon"])).message).toMatch(/"soon" is not a duration \(use e\.g\. 30s/);
  });

  it("types the getter from the type or the default", () => {
    const parser = new OptionParser();
    expectTypeOf(parser.define("a", { default: 1 })).returns.toEqualTypeOf<number>();
    expectTypeOf(parser.define("b", { default: false })).returns.toEqualTypeOf<boolean>();
    expectTypeOf(parser.define("c", { type: String })).returns.toEqualTypeOf<string | undefined>();
    expectTypeOf(parser.define("d", { type: Date, default: new Date() })).returns.toEqualTypeOf<Date>();
    expectTypeOf(parser.define("e", { type: Number, multiple: true })).returns.toEqualTypeOf<number[]>();
    expectTypeOf(parser.define("f", { default: ["x"], multiple: true })).returns.toEqualTypeOf<string[]>();
    expectTypeOf(parser.define("g", { type: "duration", default: 5 })).returns.toEqualTypeOf<number>();
    expectTypeOf(parser.define("h")).returns.toEqualTypeOf<string | undefined>();
    expect(parser.h).toBeUndefined();
  });

  it("calls the callback with each new value", () => {
    const parser = new OptionParser();
    const seen: number[] = [];
    parser.define("level", { default: 1, callback: (value) => seen.push(value) });
    parser.parseCommandLine(["--level=2", "--level=3"]);
    parser.level = 4;
    expect(seen).toEqual([2, 3, 4]);
  });

  it("refuses a name defined twice (saying where), a name taken by a method, and a default of the wrong type", () => {
    const parser = new OptionParser();
    parser.define("port", { default: 1 });
    const twice = thrown(() => parser.define("PORT", { default: 2 }));
    expect(twice.code).toBe("ERR_OPTION_DEFINED");
    expect(twice.message).toBe("Option 'port' already defined in test/runtime/options.test.ts");
    expect(thrown(() => parser.define("items")).message).toMatch(/taken by an OptionParser method/);
    expect(thrown(() => parser.define("as_dict")).message).toMatch(/taken by an OptionParser method/);
    expect(thrown(() => parser.define("n", { type: Number, default: "1" as unknown as number })).message).toBe(
      "The default of option 'n' is not a number",
    );
  });
});

describe("OptionParser: setting and reading values from code", () => {
  it("checks the type of a value set as a property, and refuses unknown names", () => {
    const parser = new OptionParser();
    parser.define("port", { default: 1 });
    parser.define("hosts", { type: String, multiple: true });
    parser.port = 80;
    expect(parser.port).toBe(80);
    const error = thrown(() => (parser.port = "80"));
    expect(error).toBeInstanceOf(OptionsError);
    expect(error.message).toBe(`Option 'port' is required to be a number (string "80" given)`);
    expect(thrown(() => (parser.hosts = "a")).message).toBe(`Option 'hosts' is required to be a list of string (string "a" given)`);
    expect(thrown(() => (parser.nope = 1)).message).toBe("Unrecognized option 'nope'");
  });

  it("lists values by camelCase name (asDict, groupDict), items by defined name, and groups", () => {
    const parser = new OptionParser();
    parser.define("template_path", { default: "templates", group: "application" });
    parser.define("debug", { default: false, group: "application" });
    parser.define("port", { default: 8888 });
    expect(parser.groupDict("application")).toEqual({ templatePath: "templates", debug: false });
    expect(parser.asDict()).toEqual({ help: undefined, templatePath: "templates", debug: false, port: 8888 });
    expect(parser.items()).toContainEqual(["template_path", "templates"]);
    expect(parser.groups()).toEqual(new Set(["", "application", "test/runtime/options.test.ts"]));
  });

  it("runs parse callbacks after a final parse only", () => {
    const parser = new OptionParser();
    parser.define("port", { default: 1 });
    const runs: number[] = [];
    parser.addParseCallback(() => runs.push(parser.port as number));
    parser.parseCommandLine(["--port=2"], { final: false });
    expect(runs).toEqual([]);
    parser.parseCommandLine(["--port=3"]);
    expect(runs).toEqual([3]);
    parser.runParseCallbacks();
    expect(runs).toEqual([3, 3]);
  });
});

describe("OptionParser.printHelp(stream) and --help", () => {
  function makeParser(): OptionParser {
    const parser = new OptionParser();
    parser.define("port", { default: 8888, help: "port to listen on", metavar: "PORT", group: "server" });
    parser.define("db_url", { type: String, help: "database URL", group: "server" });
    parser.define("a-very-long-option-name-indeed-yes", { default: true, group: "server" });
    parser.define("motd", {
      default: "hi",
      help: "the message of the day, shown to every client that connects before anything else",
      group: "misc",
    });
    return parser;
  }

  it("prints the usage line and each group's options sorted, with metavar, help, default, wrapped", () => {
    let text = "";
    vi.spyOn(process, "argv", "get").mockReturnValue(["node", "/srv/app/server.js"]);
    makeParser().printHelp({ write: (chunk: string) => (text += chunk) });
    expect(text).toBe(
      [
        "Usage: server.js [OPTIONS]",
        "",
        "Options:",
        "",
        "  --help                           show this help information",
        "",
        "misc options:",
        "",
        "  --motd                           the message of the day, shown to every",
        "                                   client that connects before anything else",
        "                                   (default hi)",
        "",
        "server options:",
        "",
        "  --a-very-long-option-name-indeed-yes",
        "                                   (default true)",
        "  --db-url                         database URL",
        "  --port=PORT                      port to listen on (default 8888)",
        "",
        "",
      ].join("\n"),
    );
  });

  it("--help prints the help on stdout and exits 0", () => {
    const parser = makeParser();
    let out = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
    const exit = vi.spyOn(process, "exit").mockImplementation((code) => {
      throw new Error(`exit ${code}`);
    });
    expect(thrown(() => parser.parseCommandLine(["--help"])).message).toBe("exit 0");
    expect(exit).toHaveBeenCalledWith(0);
    expect(out).toMatch(/--port=PORT +port to listen on \(default 8888\)/);
  });
});

describe("OptionParser.parseConfigFile(path)", () => {
  function makeParser() {
    const parser = new OptionParser();
    return {
      parser,
      port: parser.define("port", { default: 8888 }),
      hosts: parser.define("hosts", { type: String, multiple: true }),
      ports: parser.define("ports", { type: Number, multiple: true }),
      timeout: parser.define("timeout", { type: "duration", default: 1000 }),
      since: parser.define("since", { type: Date }),
      debug: parser.define("debug", { default: false }),
    };
  }

  it("reads a JSON object: typed values as they are, strings as on the command line", () => {
    const o = makeParser();
    o.parser.parseConfigFile(
      file("a.json", JSON.stringify({ port: 9000, hosts: ["a", "b"], ports: "80,8000:8001", timeout: "45s", since: "2024-03-05", debug: "true" })),
    );
    expect(o.port()).toBe(9000);
    expect(o.hosts()).toEqual(["a", "b"]);
    expect(o.ports()).toEqual([80, 8000, 8001]);
    expect(o.timeout()).toBe(45_000);
    expect(o.since()?.getTime()).toBe(new Date(2024, 2, 5).getTime());
    expect(o.debug()).toBe(true);
  });

  it("refuses, in JSON, an unknown name, a value of the wrong type, a non-list for a multiple option, bad JSON", () => {
    const o = makeParser();
    const unknown = thrown(() => o.parser.parseConfigFile(file("b.json", '{"prot": 1}')));
    expect(unknown.code).toBe("ERR_CONFIG_FILE");
    expect(unknown.message).toMatch(/^Unrecognized option 'prot' in config file .*b\.json$/);
    expect(thrown(() => o.parser.parseConfigFile(file("c.json", '{"port": true}'))).message).toBe(
      "Option 'port' is required to be a number (boolean true given)",
    );
    expect(thrown(() => o.parser.parseConfigFile(file("d.json", '{"hosts": 3}'))).message).toMatch(
      /^Option 'hosts' is required to be a list of string or a comma-separated string/,
    );
    expect(thrown(() => o.parser.parseConfigFile(file("e.json", "{port: 1}"))).message).toMatch(/is not valid JSON/);
    expect(thrown(() => o.parser.parseConfigFile(file("f.json", "[1]"))).message).toMatch(/must hold a JSON object/);
    expect(thrown(() => o.parser.parseConfigFile(file("g.yaml", "port: 1"))).message).toMatch(/must be \.json, \.js, \.mjs or \.cjs/);
  });

  it("reads an ES module's named exports and default object, ignoring exports that are not options", () => {
    const o = makeParser();
    o.parser.parseConfigFile(
      file("app.config.mjs", "export default { port: 1, debug: true };\nexport const port = 7000;\nexport const helper = () => 1;\nexport const hosts = ['x'];\n"),
    );
    expect(o.port()).toBe(7000);
    expect(o.debug()).toBe(true);
    expect(o.hosts()).toEqual(["x"]);
  });

  it("reads a CommonJS module afresh each time", () => {
    const o = makeParser();
    const path = file("app.config.cjs", "module.exports = { port: 7100 };");
    o.parser.parseConfigFile(path);
    expect(o.port()).toBe(7100);
    writeFileSync(path, "module.exports = { port: 7200 };");
    o.parser.parseConfigFile(path);
    expect(o.port()).toBe(7200);
  });

  it("refuses a module with top-level await, saying why", () => {
    const o = makeParser();
    const error = thrown(() => o.parser.parseConfigFile(file("tla.mjs", "export const port = await Promise.resolve(1);")));
    expect(error.code).toBe("ERR_CONFIG_FILE");
    expect(error.message).toMatch(/uses top-level await/);
  });

  it("can be called from an option's callback, so --config=… reads a file between other flags", () => {
    const o = makeParser();
    o.parser.define("config", { type: String, callback: (path) => path && o.parser.parseConfigFile(path, { final: false }) });
    const config = file("h.json", '{"port": 7300, "debug": true}');
    o.parser.parseCommandLine([`--config=${config}`, "--port=7400"]);
    expect(o.port()).toBe(7400);
    expect(o.debug()).toBe(true);
  });
});

describe("the global options", () => {
  afterEach(() => configureLogging({ level: "warning" }));

  it("define(), parseCommandLine() and parseConfigFile() act on options", () => {
    const name = define("global_test_name", { default: "x" });
    parseCommandLine(["--global-test-name=y", "--logging=none"]);
    expect(name()).toBe("y");
    expect(options.globalTestName).toBe("y");
    parseConfigFile(file("global.json", '{"global_test_name": "z"}'));
    expect(options.globalTestName).toBe("z");
  });

  it("--logging sets the log level once parsed (default info, as Tornado); none leaves it alone", () => {
    const log = getLogger("tornado.options-test");
    parseCommandLine(["--logging=debug"]);
    expect(log.isEnabledFor("debug")).toBe(true);
    configureLogging({ level: "warning" });
    parseCommandLine(["--logging=none"]);
    expect(log.isEnabledFor("info")).toBe(false);
    parseCommandLine(["--logging=info"]);
    expect(log.isEnabledFor("info")).toBe(true);
    expect(log.isEnabledFor("debug")).toBe(false);
    expect(thrown(() => parseCommandLine(["--logging=loud"])).message).toMatch(/must be one of debug, info, warning, error, none/);
    options.logging = "none";
  });
});
