/**
 * Runs the `run:` steps of an app's GitHub Actions workflow in the app's folder, as the
 * runner would after its `uses:` steps (checkout and setup-node, which this machine stands in
 * for: the app is here and so is Node), with the job's and the step's `env`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { runCommand, type RunResult } from "./cli.js";

interface Step {
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on": string;
  services?: Record<string, { image: string; env?: Record<string, string> }>;
  env?: Record<string, string>;
  steps: Step[];
}

/** A step's command and how it ended. */
export interface StepResult {
  run: string;
  result: RunResult;
}

/**
 * The workflow's jobs, parsed.
 *
 * @example
 * readWorkflow(app).test.steps[0].uses // "actions/checkout@v5"
 */
export function readWorkflow(app: string, file = ".github/workflows/ci.yml"): Record<string, Job> {
  const workflow = parse(readFileSync(join(app, file), "utf8")) as { jobs: Record<string, Job> };
  return workflow.jobs;
}

/**
 * Runs every `run:` step of `job` in order, stopping at the first that fails; `env` is added
 * (what the services would be reachable at on this machine).
 *
 * @example
 * const steps = await runWorkflowJob(app, "test", { DATABASE_URL });
 */
export async function runWorkflowJob(app: string, jobName: string, env: NodeJS.ProcessEnv = {}): Promise<StepResult[]> {
  const job = readWorkflow(app)[jobName];
  if (job === undefined) throw new Error(`the workflow has no job ${jobName}`);
  const results: StepResult[] = [];
  for (const step of job.steps) {
    if (step.run === undefined) continue;
    const result = await runCommand("sh", ["-c", step.run], app, { CI: "true", ...job.env, ...step.env, ...env });
    results.push({ run: step.run, result });
    if (result.code !== 0) break;
  }
  return results;
}
