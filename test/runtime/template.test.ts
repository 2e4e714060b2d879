import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Handlebars from "handlebars";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  Application,
  RequestHandler,
  SafeHtml,
  TemplateError,
  TemplateLoader,
  createTestServer,
  expectLog,
  url,
  type ApplicationSettings,
  type RouteSpec,
  type TestServer,
} from "../../runtime/index.js";

let root: string;

function writeTree(files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "tornado-templates-"));
  writeTree({
    "hello.hbs": "Hello, {{name}}! {{{raw}}}",
    "page.hbs": '{{#> layout title="Users"}}<ul>{{#each users}}{{> user-row}}{{/each}}</ul>{{/layout}}',
    "partials/layout.hbs": "<title>{{title}}</title><main>{{> @partial-block}}</main>{{> footer}}",
    "partials/user-row.hbs": "<li>{{name}}</li>",
    "footer.hbs": "<footer>{{> forms/signup}}</footer>",
    "partials/forms/signup.hbs": "<form>signup</form>",
    "with-sidebar.hbs": '{{#> two-columns}}{{#*inline "sidebar"}}<nav>side</nav>{{/inline}}body{{/two-columns}}',
    "partials/two-columns.hbs": "<aside>{{> sidebar}}</aside><div>{{> @partial-block}}</div>",
    "broken.hbs": "line one\nline two\n{{#if ok}}\nnever closed\n",
    "uses-broken.hbs": "before\n{{> broken-partial}}\n",
    "partials/broken-partial.hbs": "fine\n{{name\n",
    "missing.hbs": "one\ntwo\n{{> no-such-partial}}\n",
    "deep-missing.hbs": "{{> has-missing}}",
    "partials/has-missing.hbs": "a\nb\nc\n{{> nowhere}}",
    "no-helper.hbs": "one\n{{shout name}}\n",
    "throws.hbs": "{{> thrower}}",
    "partials/thrower.hbs": "x\ny\n{{explode name}}",
    "handler-helper.hbs": "first\n{{staticUrl 'app.css'}}",
    "upper.hbs": "{{upper name}} {{bold name}}",
  });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("TemplateLoader.render(name, context)", () => {
  it("escapes HTML in {{value}} and inserts {{{value}}} as is", async () => {
    const loader = new TemplateLoader(root);
    expect(await loader.render("hello.hbs", { name: "<Ann & Bob>", raw: "<b>bold</b>" })).toBe("Hello, &lt;Ann &amp; Bob&gt;! <b>bold</b>");
  });

  it("finds partials in partials/ or by their name from the root, nested ones too", async () => {
    const html = await new TemplateLoader(root).render("page.hbs", { users: [{ name: "Ann" }, { name: "<Bob>" }] });
    expect(html).toBe("<title>Users</title><main><ul><li>Ann</li><li>&lt;Bob&gt;</li></ul></main><footer><form>signup</form></footer>");
  });

  it("supports layouts with named sections as inline partials", async () => {
    expect(await new TemplateLoader(root).render("with-sidebar.hbs")).toBe("<aside><nav>side</nav></aside><div>body</div>");
  });

  it("takes helpers for the loader and for one rendering", async () => {
    const loader = new TemplateLoader(root, { helpers: { upper: (s: unknown) => String(s).toUpperCase() } });
    const html = await loader.render("upper.hbs", { name: "<ann>" }, { helpers: { bold: (s: unknown) => new SafeHtml(`<b>${String(s)}</b>`) } });
    expect(html).toBe("&lt;ANN&gt; <b><ann></b>");
  });

  it("keeps helpers in its own Handlebars environment", async () => {
    const withUpper = new TemplateLoader(root, { helpers: { upper: (s: unknown) => String(s).toUpperCase() } });
    await withUpper.render("upper.hbs", { name: "a" }, { helpers: { bold: String } });
    expect(Handlebars.helpers.upper).toBeUndefined();
    await expect(new TemplateLoader(root).render("upper.hbs", { name: "a" }, { helpers: { bold: String } })).rejects.toThrow(
      'upper.hbs:1: Missing helper: "upper"',
    );
  });

  it("compiles source given as a string, with partials from the root", async () => {
    const template = await new TemplateLoader(root).compile("[{{> user-row}}]");
    expect(template.name).toBe("<string>");
    expect(template.render({ name: "Ann" })).toBe("[<li>Ann</li>]");
  });
});

describe("TemplateLoader cache", () => {
  let cacheRoot: string;
  beforeAll(() => {
    cacheRoot = mkdtempSync(join(tmpdir(), "tornado-template-cache-"));
  });
  afterAll(() => rmSync(cacheRoot, { recursive: true, force: true }));

  it("compiles a template once, until reset()", async () => {
    writeFileSync(join(cacheRoot, "v.hbs"), "one");
    const loader = new TemplateLoader(cacheRoot);
    const first = await loader.load("v.hbs");
    expect(await loader.load("v.hbs")).toBe(first);
    writeFileSync(join(cacheRoot, "v.hbs"), "two");
    expect((await loader.load("v.hbs")).render()).toBe("one");
    loader.reset();
    expect((await loader.load("v.hbs")).render()).toBe("two");
  });

  it("reads the files again on every load with cache: false", async () => {
    writeFileSync(join(cacheRoot, "w.hbs"), "one");
    const loader = new TemplateLoader(cacheRoot, { cache: false });
    expect(await loader.render("w.hbs")).toBe("one");
    writeFileSync(join(cacheRoot, "w.hbs"), "two");
    expect(await loader.render("w.hbs")).toBe("two");
  });

  it("does not keep a failed load", async () => {
    const loader = new TemplateLoader(cacheRoot);
    await expect(loader.load("later.hbs")).rejects.toThrow(TemplateError);
    writeFileSync(join(cacheRoot, "later.hbs"), "here now");
    expect(await loader.render("later.hbs")).toBe("here now");
  });
});

describe("TemplateError", () => {
  const failure = async (name: string, context: object = {}, loader = new TemplateLoader(root)): Promise<TemplateError> => {
    try {
      await loader.render(name, context);
    } catch (e) {
      expect(e).toBeInstanceOf(TemplateError);
      return e as TemplateError;
    }
    throw new Error(`${name} rendered`);
  };

  it("names the file and line of a syntax error", async () => {
    const error = await failure("broken.hbs");
    expect(error.code).toBe("ERR_TEMPLATE");
    expect(error.file).toBe("broken.hbs");
    expect(error.line).toBe(5);
    expect(error.message).toMatch(/^broken\.hbs:5: syntax error\n/);
  });

  it("names the partial, not the page, for a syntax error in a partial", async () => {
    const error = await failure("uses-broken.hbs");
    expect(error.file).toBe("partials/broken-partial.hbs");
    expect(error.line).toBe(2);
  });

  it("names the file and line that use a missing partial, and where it was looked for", async () => {
    const error = await failure("missing.hbs");
    expect(error.message).toBe(
      'missing.hbs:3: the partial "no-such-partial" could not be found (no partials/no-such-partial.hbs or no-such-partial.hbs, and no inline partial of that name)',
    );
    const deep = await failure("deep-missing.hbs");
    expect([deep.file, deep.line]).toEqual(["partials/has-missing.hbs", 4]);
  });

  it("names the file and line of a missing helper", async () => {
    const error = await failure("no-helper.hbs", { name: "x" });
    expect(error.message).toBe('no-helper.hbs:2: Missing helper: "shout"');
  });

  it("names the file and line of a helper that throws, and keeps its error as the cause", async () => {
    const boom = new Error("boom");
    const loader = new TemplateLoader(root, {
      helpers: {
        explode: () => {
          throw boom;
        },
      },
    });
    const error = await failure("throws.hbs", {}, loader);
    expect(error.message).toBe("partials/thrower.hbs:3: boom");
    expect(error.cause).toBe(boom);
  });

  it("names a template that does not exist", async () => {
    const error = await failure("nope.hbs");
    expect(error.file).toBe("nope.hbs");
    expect(error.message).toBe(`nope.hbs: template not found in ${root}`);
  });

  it("refuses names outside the template folder", async () => {
    const error = await failure("../outside.hbs");
    expect(error.message).toContain("is outside the template folder");
  });

  it("says that staticUrl, xsrfFormHtml and reverseUrl need a request handler", async () => {
    const error = await failure("handler-helper.hbs");
    expect(error.message).toBe("handler-helper.hbs:2: {{staticUrl}} needs a request handler: render with handler.render() or handler.renderString()");
  });
});

describe("RequestHandler.render(templateName, context)", () => {
  let server: TestServer | undefined;
  let appRoot: string;

  beforeAll(() => {
    appRoot = mkdtempSync(join(tmpdir(), "tornado-render-"));
    const files: Record<string, string> = {
      "greet.hbs": "<p>Hi {{name}} at {{request.path}} on {{request.host}}{{#if currentUser}} as {{currentUser.name}}{{/if}}</p>",
      "links.hbs": '<a href="{{reverseUrl "user" id}}">user</a> <link href="{{staticUrl "app.css"}}"> {{xsrfFormHtml}}',
      "static.hbs": 'x\n<link href="{{staticUrl "app.css"}}">',
      "site.hbs": "{{siteName}}: {{title}}",
      "version.hbs": "v1",
      "bad.hbs": "ok\n{{> missing-part}}",
      "big.hbs": "{{#each rows}}<tr><td>{{this}}</td></tr>{{/each}}",
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(appRoot, name), content);
  });
  afterAll(() => rmSync(appRoot, { recursive: true, force: true }));
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(routes: RouteSpec[], settings: ApplicationSettings = {}): Promise<TestServer> {
    server = await createTestServer(new Application(routes, { templatePath: appRoot, ...settings }));
    return server;
  }

  class Render extends RequestHandler {
    async get(name: string) {
      await this.render(`${name}.hbs`, { name: this.getArgument("name", "<you>"), id: 42, title: "Home", rows: [...Array(300).keys()] });
    }
  }

  it("sends the rendered template as text/html, with request in the namespace", async () => {
    const t = await serve([["/page/(\\w+)", Render]]);
    const res = await t.fetch("/page/greet");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(await res.text()).toBe(`<p>Hi &lt;you&gt; at /page/greet on 127.0.0.1:${t.port}</p>`);
  });

  it("puts currentUser in the namespace when the handler has one (awaited)", async () => {
    class WithUser extends Render {
      override async getCurrentUser() {
        return { name: "Ann" };
      }
    }
    const t = await serve([["/page/(\\w+)", WithUser]]);
    expect(await (await t.fetch("/page/greet?name=x")).text()).toBe(`<p>Hi x at /page/greet on 127.0.0.1:${t.port} as Ann</p>`);
  });

  it("gives templates reverseUrl, staticUrl and xsrfFormHtml from the handler's methods", async () => {
    class Links extends Render {
      override staticUrl(path: string) {
        return `/static/${path}?v=abc`;
      }
      override xsrfFormHtml() {
        return '<input type="hidden" name="_xsrf" value="t&k">';
      }
    }
    const t = await serve([url("/users/(\\d+)", Render, { name: "user" }), ["/page/(\\w+)", Links]]);
    expect(await (await t.fetch("/page/links")).text()).toBe(
      '<a href="/users/42">user</a> <link href="/static/app.css?v&#x3D;abc"> <input type="hidden" name="_xsrf" value="t&k">',
    );
  });

  it("answers 500 naming the helper and the template line when the handler lacks the method", async () => {
    class NoStatic extends Render {
      override initialize() {
        // Whatever RequestHandler provides, this handler has no staticUrl().
        Object.defineProperty(this, "staticUrl", { value: undefined });
      }
    }
    const t = await serve([["/page/(\\w+)", NoStatic]], { serveTraceback: true });
    const res = await expectLog("tornado.access", /500/, () => expectLog("tornado.application", /Uncaught exception/, () => t.fetch("/page/static")));
    expect(res.status).toBe(500);
    expect(await res.text()).toContain("static.hbs:2: {{staticUrl}} calls the handler's staticUrl() method, which NoStatic does not have");
  });

  it("answers 500 and logs the file and line of a template error", async () => {
    const t = await serve([["/page/(\\w+)", Render]]);
    const res = await expectLog("tornado.access", /500/, () => expectLog("tornado.application", /Uncaught exception GET \/page\/bad/, () => t.fetch("/page/bad")));
    expect(res.status).toBe(500);
    const debug = await serve([["/page/(\\w+)", Render]], { debug: true });
    const page = await expectLog("tornado.access", /500/, () => expectLog("tornado.application", /Uncaught/, () => debug.fetch("/page/bad")));
    expect(await page.text()).toContain('TemplateError: bad.hbs:2: the partial "missing-part" could not be found');
  });

  it("lets getTemplateNamespace() add variables, which the render context overrides", async () => {
    class Site extends Render {
      override async getTemplateNamespace() {
        return { ...(await super.getTemplateNamespace()), siteName: "Acme", title: "default" };
      }
    }
    const t = await serve([["/page/(\\w+)", Site]]);
    expect(await (await t.fetch("/page/site")).text()).toBe("Acme: Home");
  });

  it("renderString() returns the text without finishing", async () => {
    class Twice extends RequestHandler {
      async get() {
        const one = await this.renderString("site.hbs", { siteName: "A", title: "1" });
        const two = await this.renderString("site.hbs", { siteName: "B", title: "2" });
        this.write({ one, two });
      }
    }
    const t = await serve([["/", Twice]]);
    expect(await (await t.fetch("/")).json()).toEqual({ one: "A: 1", two: "B: 2" });
  });

  it("caches compiled templates, except under debug (Tornado's compiled_template_cache)", async () => {
    const cached = await serve([["/page/(\\w+)", Render]]);
    expect(await (await cached.fetch("/page/version")).text()).toBe("v1");
    writeFileSync(join(appRoot, "version.hbs"), "v2");
    expect(await (await cached.fetch("/page/version")).text()).toBe("v1");
    await cached.close();
    const debug = await serve([["/page/(\\w+)", Render]], { debug: true });
    expect(await (await debug.fetch("/page/version")).text()).toBe("v2");
    writeFileSync(join(appRoot, "version.hbs"), "v3");
    expect(await (await debug.fetch("/page/version")).text()).toBe("v3");
  });

  it("uses the templateLoader setting when given", async () => {
    const loader = new TemplateLoader(root);
    const t = await serve([["/page/(\\w+)", Render]], { templatePath: undefined, templateLoader: loader });
    expect(await (await t.fetch("/page/hello?name=Ann")).text()).toBe("Hello, Ann! ");
  });

  it("says which setting is missing without templatePath", async () => {
    const t = await serve([["/page/(\\w+)", Render]], { templatePath: undefined, serveTraceback: true });
    const res = await expectLog("tornado.access", /500/, () => expectLog("tornado.application", /Uncaught/, () => t.fetch("/page/greet")));
    expect(await res.text()).toContain("render() needs the templatePath setting");
  });

  it("refuses to render after finish()", async () => {
    class Late extends RequestHandler {
      async get() {
        this.finish("done");
        try {
          await this.render("site.hbs");
        } catch (e) {
          (this.settings.seen as string[]).push((e as Error).message);
        }
      }
    }
    const seen: string[] = [];
    const t = await serve([["/", Late]], { seen });
    expect(await (await t.fetch("/")).text()).toBe("done");
    expect(seen).toEqual(["Cannot render() after finish()"]);
  });

  it("gzips a rendered page with compressResponse", async () => {
    const t = await serve([["/page/(\\w+)", Render]], { compressResponse: true });
    const res = await t.fetch("/page/big", { headers: { "Accept-Encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(await res.text()).toContain("<tr><td>299</td></tr>");
  });
});
