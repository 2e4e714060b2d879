import { readEnvironment } from "tornado/env";
import { z } from "zod";

const whole = (min: number) => z.coerce.number().int().min(min);

/**
 * Every environment variable this app reads, itself or through tornado/db, checked once at start
 * (`.env.example` lists them): a bad value is one sentence naming it, and the app exits 1. With
 * NODE_ENV=production (the Dockerfile sets it) DATABASE_URL is required: the embedded PostgreSQL
 * is a development dependency, absent from a production install.
 */
export const envSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(8888),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// URL" }).optional(),
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a schema name (letters, digits, _)")
      .default("public"),
    DATABASE_POOL_SIZE: whole(1).default(20),
    DATABASE_ACQUIRE_TIMEOUT_MS: whole(1).default(10_000),
    DATABASE_STATEMENT_TIMEOUT_MS: whole(1).default(30_000),
    EMBEDDED_DB_DIR: z.string().default(".tornado/db"),
    EMBEDDED_DB_GRACE_MS: whole(0).default(2000),
    CORS_ORIGINS: z.string().default("*"),
    LOG_FORMAT: z.enum(["text", "json"]).default("text"),
    NODE_ENV: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && env.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_URL"],
        message:
          "must be set to your PostgreSQL server's postgres:// URL when NODE_ENV is production, where there is no embedded database",
      });
    }
  });

/** Reads and checks the environment (exits 1 on a bad value). */
export function readEnv(): z.infer<typeof envSchema> {
  return readEnvironment(envSchema);
}
