import { readEnvironment } from "tornado/env";
import { z } from "zod";

/**
 * Every environment variable this app reads, checked once at start (`.env.example` lists them):
 * a bad value is one sentence naming it, and the app exits 1.
 */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8888),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" }).optional(),
  LOG_FORMAT: z.enum(["text", "json"]).default("text"),
});

/** Reads and checks the environment (exits 1 on a bad value). */
export function readEnv(): z.infer<typeof envSchema> {
  return readEnvironment(envSchema);
}
