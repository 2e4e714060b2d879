/**
 * Templates, as Tornado's `tornado.template`, on Handlebars: a `TemplateLoader` for a folder of
 * `.hbs` files (partials in `partials/`, layouts as partial blocks, HTML escaped by default,
 * compiled once and cached), usable from a script or through `RequestHandler.render()`.
 *
 * @example
 * import { TemplateLoader } from "tornado/template";
 * const loader = new TemplateLoader("templates");
 * const html = await loader.render("welcome.hbs", { name: "Ann" });
 */
export { TemplateError } from "./template/errors.js";
export {
  SafeHtml,
  Template,
  TemplateLoader,
  type RenderOptions,
  type TemplateHelper,
  type TemplateLoaderOptions,
} from "./template/loader.js";
