import { readFileSync } from "node:fs";
import { RequestHandler } from "tornado/web";

// public/ sits beside src/ and dist/, so this path works from both.
const page = readFileSync(new URL("../../public/index.html", import.meta.url), "utf8");

/** GET /: the chat page. */
export class PageHandler extends RequestHandler {
  get(): void {
    this.setHeader("Content-Type", "text/html; charset=UTF-8");
    this.write(page);
  }
}
