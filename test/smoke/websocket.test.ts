/** The smoke set (see ./smoke.ts) for the websocket template, on the Node line running the tests. */
import { smokeTemplate } from "./smoke.js";

smokeTemplate("websocket");
