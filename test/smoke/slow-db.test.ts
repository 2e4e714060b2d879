/** The smoke set (see ./smoke.ts) for the slow-db template, on the Node line running the tests. */
import { smokeTemplate } from "./smoke.js";

smokeTemplate("slow-db");
