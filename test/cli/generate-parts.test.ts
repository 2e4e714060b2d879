import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/cli/errors.js";
import { pluralize, resourceNames, singularize } from "../../src/generate/names.js";
import { addRoutes, AppFileSyntaxError, locateRoutes, removeRoutes, RouteListNotFound, type RouteRegistration } from "../../src/generate/route-table.js";
import { unifiedDiff } from "../../src/generate/changes.js";
import { compareSources, naturalCompare } from "../../src/generate/import-order.js";
import { repoRoot } from "../helpers/cli.js";

const templateApp = readFileSync(join(repoRoot, "templates/rest/src/app.ts"), "utf8");

const orders: RouteRegistration = {
  importFrom: "./handlers/orders.js",
  names: ["OrderHandler", "OrdersHandler"],
  routes: [
    { pattern: "/orders", handler: "OrdersHandler", name: "orders" },
    { pattern: "/orders/:id", handler: "OrderHandler", name: "order" },
  ],
};

describe("resourceNames(name)", () => {
  it("maps any case to one convention", () => {
    for (const typed of ["user-profile", "UserProfile", "user_profile", "userProfile", "user-profiles"]) {
      const names = resourceNames(typed);
      expect(names.collectionClass).toBe("UserProfilesHandler");
      expect(names.itemClass).toBe("UserProfileHandler");
      expect(names.collectionRoute).toBe("/user-profiles");
      expect(names.itemRoute).toBe("/user-profiles/:id");
    }
    expect(resourceNames("UserProfile").file).toBe("user-profile");
    expect(resourceNames("users")).toMatchObject({ file: "users", itemClass: "UserHandler", collectionClass: "UsersHandler", collectionRoute: "/users", itemRouteName: "user" });
  });

  it("knows common plurals", () => {
    const pairs = [
      ["category", "categories"],
      ["address", "addresses"],
      ["status", "statuses"],
      ["box", "boxes"],
      ["match", "matches"],
      ["person", "people"],
      ["house", "houses"],
      ["case", "cases"],
      ["day", "days"],
    ];
    for (const [one, many] of pairs) {
      expect(pluralize(one!)).toBe(many);
      expect(pluralize(many!)).toBe(many);
      expect(singularize(many!)).toBe(one);
    }
  });

  it("gives a word with one form a collection class of its own", () => {
    expect(resourceNames("news")).toMatchObject({ itemClass: "NewsHandler", collectionClass: "NewsListHandler", collectionRouteName: "news-list", itemRouteName: "news" });
  });

  it("refuses a name that cannot be a file and a class", () => {
    for (const bad of ["", "9lives", "user profile", "../x", "a.b"]) expect(() => resourceNames(bad)).toThrow(UserError);
  });
});

describe("addRoutes(text, file, registration)", () => {
  it("adds the import and the routes, keeping every other byte", () => {
    const { text, added, importAdded } = addRoutes(templateApp, "src/app.ts", orders);
    expect(importAdded).toBe(true);
    expect(added).toHaveLength(2);
    // Where Biome's organize-imports puts it (every app's lint): between health.js and users.js.
    expect(text).toContain(
      'import { HealthHandler } from "./handlers/health.js";\nimport { OrderHandler, OrdersHandler } from "./handlers/orders.js";\nimport { UserHandler, UsersHandler } from "./handlers/users.js";\n',
    );
    expect(text).toContain(
      '      url("/users/:id", UserHandler, { name: "user" }),\n      url("/orders", OrdersHandler, { name: "orders" }),\n      url("/orders/:id", OrderHandler, { name: "order" }),\n    ],',
    );
    expect(text.replace(/.*orders.*\n/g, "")).toBe(templateApp);
  });

  it("changes nothing the second time", () => {
    const once = addRoutes(templateApp, "src/app.ts", orders).text;
    const twice = addRoutes(once, "src/app.ts", orders);
    expect(twice.text).toBe(once);
    expect(twice.added).toEqual([]);
    expect(twice.present).toHaveLength(2);
  });

  it("sees a route written as a regex group as the same route", () => {
    const withGroup = templateApp.replace('url("/users/:id"', 'url("/users/(?<id>[^/]+)"');
    const users = { ...orders, importFrom: "./handlers/users.js", routes: [{ pattern: "/users/:id", handler: "UserHandler" }] };
    expect(addRoutes(withGroup, "src/app.ts", users).text).toBe(withGroup);
  });

  it("is undone byte for byte by removeRoutes", () => {
    const added = addRoutes(templateApp, "src/app.ts", orders).text;
    const removed = removeRoutes(added, "src/app.ts", orders);
    expect(removed.removed).toHaveLength(2);
    expect(removed.importRemoved).toBe(true);
    expect(removed.text).toBe(templateApp);
  });

  const reformatted = `// The app, as its user likes it.
import {Application, url} from 'tornado'
import {HomeHandler, NotFound} from './handlers/home.js'

const routes = [
  // the landing page
  url('/', HomeHandler, {name: 'home'}), // trailing comment
  /* everything else */
  url('/.*', NotFound)
]

export const makeApp = (settings = {}) =>
  new Application(routes, settings)
`;

  it("works on a reformatted, commented file: its quotes, semicolons and comments, before a catch-all", () => {
    const { text } = addRoutes(reformatted, "src/app.ts", orders);
    expect(text).toBe(`// The app, as its user likes it.
import {Application, url} from 'tornado'
import {HomeHandler, NotFound} from './handlers/home.js'
import { OrderHandler, OrdersHandler } from './handlers/orders.js'

const routes = [
  // the landing page
  url('/', HomeHandler, {name: 'home'}), // trailing comment
  url('/orders', OrdersHandler, { name: 'orders' }),
  url('/orders/:id', OrderHandler, { name: 'order' }),
  /* everything else */
  url('/.*', NotFound)
]

export const makeApp = (settings = {}) =>
  new Application(routes, settings)
`);
    expect(removeRoutes(text, "src/app.ts", orders).text).toBe(reformatted);
  });

  it("puts the import where Biome sorts it, above the next import's comments, and takes it out byte for byte", () => {
    const app = (imports: string) => `${imports}\nexport function makeApp() {\n  return new Application([url("/", Home)]);\n}\n`;
    const cases: [string, string][] = [
      // before a later relative import, with its comment
      [
        `import { Application, url } from "tornado";\n// the pages\nimport { Home } from "./handlers/pages.js";\n`,
        `import { Application, url } from "tornado";\nimport { OrderHandler, OrdersHandler } from "./handlers/orders.js";\n// the pages\nimport { Home } from "./handlers/pages.js";\n`,
      ],
      // after packages and ../ paths, before a later ./ path
      [
        `import { Application, url } from "tornado";\nimport { x } from "../lib/x.js";\nimport { Home } from "./handlers/zoo.js";\n`,
        `import { Application, url } from "tornado";\nimport { x } from "../lib/x.js";\nimport { OrderHandler, OrdersHandler } from "./handlers/orders.js";\nimport { Home } from "./handlers/zoo.js";\n`,
      ],
      // last, after a trailing comment, without a semicolon like its neighbour
      [
        `import { Application, url } from 'tornado' // the runtime\n`,
        `import { Application, url } from 'tornado' // the runtime\nimport { OrderHandler, OrdersHandler } from './handlers/orders.js'\n`,
      ],
      // a side-effect import ends a run: the last run is the one sorted into
      [
        `import { Application, url } from "tornado";\nimport "./setup.js";\nimport { Home } from "./handlers/zoo.js";\n`,
        `import { Application, url } from "tornado";\nimport "./setup.js";\nimport { OrderHandler, OrdersHandler } from "./handlers/orders.js";\nimport { Home } from "./handlers/zoo.js";\n`,
      ],
    ];
    for (const [imports, expected] of cases) {
      const before = app(imports);
      const added = addRoutes(before, "app.ts", orders).text;
      expect(added.slice(0, expected.length)).toBe(expected);
      expect(removeRoutes(added, "app.ts", orders).text).toBe(before);
    }
  });

  it("wraps an import and a route past 120 columns as Biome does, and takes them out byte for byte", () => {
    const long: RouteRegistration = {
      importFrom: "./handlers/very-long-resource-name-here.js",
      names: ["VeryLongResourceNameHeresHandler", "VeryLongResourceNameHereHandler"],
      routes: [{ pattern: "/very-long-resource-name-heres", handler: "VeryLongResourceNameHeresHandler", name: "very-long-resource-name-heres" }],
    };
    const added = addRoutes(templateApp, "src/app.ts", long).text;
    expect(added).toContain(
      'import { UserHandler, UsersHandler } from "./handlers/users.js";\nimport {\n  VeryLongResourceNameHereHandler,\n  VeryLongResourceNameHeresHandler,\n} from "./handlers/very-long-resource-name-here.js";\n\n/** Settings',
    );
    expect(added).toContain(
      '      url("/users/:id", UserHandler, { name: "user" }),\n      url("/very-long-resource-name-heres", VeryLongResourceNameHeresHandler, {\n        name: "very-long-resource-name-heres",\n      }),\n    ],',
    );
    expect(addRoutes(added, "src/app.ts", long).text).toBe(added);
    expect(removeRoutes(added, "src/app.ts", long).text).toBe(templateApp);
  });

  it("keeps a list without a trailing comma without one, and a last line's comment on its line", () => {
    const bare = `import { Application, url } from "tornado";\nexport function makeApp() {\n  return new Application([\n    url("/", Home) // home\n  ]);\n}\n`;
    const added = addRoutes(bare, "app.ts", orders).text;
    expect(added).toContain('    url("/", Home), // home\n    url("/orders", OrdersHandler, { name: "orders" }),\n    url("/orders/:id", OrderHandler, { name: "order" })\n  ]);');
    expect(removeRoutes(added, "app.ts", orders).text).toBe(bare);
  });

  it("lends the comma to the route before when the list has no trailing comma and no comment", () => {
    const bare = `import { Application, url } from "tornado";\nexport function makeApp() {\n  return new Application([\n    url("/", Home)\n  ]);\n}\n`;
    const added = addRoutes(bare, "app.ts", orders).text;
    expect(added).toContain('    url("/", Home),\n    url("/orders", OrdersHandler, { name: "orders" }),\n    url("/orders/:id", OrderHandler, { name: "order" })\n  ]);');
    expect(removeRoutes(added, "app.ts", orders).text).toBe(bare);
  });

  it("writes tuples into a list of tuples, and fills an empty list", () => {
    const tuples = `import { Application } from "tornado";\nexport function makeApp() {\n  return new Application([["/", Home]]);\n}\n`;
    const added = addRoutes(tuples, "app.ts", orders).text;
    expect(added).toContain('new Application([["/", Home], ["/orders", OrdersHandler], ["/orders/:id", OrderHandler]]);');
    expect(removeRoutes(added, "app.ts", orders).text).toBe(tuples);

    const empty = `import { Application, url } from "tornado";\nexport function makeApp() {\n  return new Application([]);\n}\n`;
    const filled = addRoutes(empty, "app.ts", orders).text;
    expect(filled).toContain('new Application([url("/orders", OrdersHandler, { name: "orders" }), url("/orders/:id", OrderHandler, { name: "order" })]);');
    expect(removeRoutes(filled, "app.ts", orders).text).toBe(empty);
  });

  it("adds a route unnamed when its name is taken", () => {
    const taken = templateApp.replace('{ name: "health" }', '{ name: "orders" }');
    expect(addRoutes(taken, "src/app.ts", orders).text).toContain('url("/orders", OrdersHandler),');
  });

  it("says where it looked when there is no route list", () => {
    const cases: [string, RegExp][] = [
      ["export const x = 1;\n", /declares no function named makeApp/],
      ["export function makeApp() { return null; }\n", /has no `new Application\(\.\.\.\)`/],
      ["import { Application } from 'tornado';\nexport function makeApp() { return new Application(loadRoutes()); }\n", /is `loadRoutes\(\)`, not an array literal/],
    ];
    for (const [text, looked] of cases) {
      const error = (() => {
        try {
          addRoutes(text, "src/app.ts", orders);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(RouteListNotFound);
      expect((error as RouteListNotFound).looked).toMatch(looked);
    }
  });

  it("refuses a file that does not parse, naming the line", () => {
    expect(() => locateRoutes(templateApp.replace("url(\"/health\"", "url(\"/health\" {"), "src/app.ts")).toThrow(AppFileSyntaxError);
    expect(() => locateRoutes("const x = ;\n", "src/app.ts")).toThrow(/line 1, column 11/);
  });
});

describe("unifiedDiff(changes)", () => {
  it("reads as git diff does", async () => {
    const diff = await unifiedDiff([
      { path: "a.ts", before: null, after: "one\n" },
      { path: "b.ts", before: "x\ny\n", after: "x\nz\n" },
      { path: "c.ts", before: "same\n", after: "same\n" },
    ]);
    expect(diff).toBe("--- /dev/null\n+++ b/a.ts\n@@ -0,0 +1,1 @@\n+one\n--- a/b.ts\n+++ b/b.ts\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n");
  });
});

describe("compareSources / naturalCompare (Biome 2.6.9's organize-imports order)", () => {
  // Each list is the order `biome check --write` (2.6.9) gave these, shuffled, in a scratch file.
  it("orders sources as Biome does", () => {
    const sorted = [
      "node:crypto",
      "tornado",
      "tornado/db",
      "zod",
      "../../y.js",
      "../x.js",
      "./a",
      "./a/b.js",
      "./a.b.js",
      "./a.js",
      "./a.ts",
      "./a_b.js",
      "./a-.js",
      "./a-2.js",
      "./a-b/c.js",
      "./a-b.js",
      "./a2.js",
      "./ab.js",
      "./handlers/a9.js",
      "./handlers/a10.js",
      "./handlers/Ox.js",
      "./handlers/Oxb.js",
      "./handlers/ox/index.js",
      "./handlers/ox.js",
      "./handlers/ox-sock.js",
      "./handlers/user.js",
      "./handlers/user-profiles.js",
      "./handlers/users.js",
    ];
    expect([...sorted].reverse().sort(compareSources)).toEqual(sorted);
  });

  it("orders imported names as Biome does", () => {
    const sorted = ["Ab", "aa", "B_c", "B8", "Bc", "b2", "b10", "OxesHandler", "OxHandler"];
    expect([...sorted].reverse().sort(naturalCompare)).toEqual(sorted);
  });
});
