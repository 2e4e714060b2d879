/**
 * This package's version (the same as `package.json`'s).
 *
 * @example
 * import { VERSION } from "tornado"; // "0.1.0"
 */
export const VERSION = "0.1.0";
