/** Entry point of the `create-tornado-app` command. */

import { runCli } from "./cli/errors.js";
import { createProgram } from "./commands/create.js";

await runCli(() => createProgram().parseAsync(process.argv));
