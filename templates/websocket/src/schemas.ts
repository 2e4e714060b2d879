import { z } from "zod";

/**
 * GET /health's answer, as the app's OpenAPI document (`npm run openapi`) describes it. The
 * chat's own messages are schemas too: src/chat/protocol.ts.
 *
 * @example
 * const health = Health.parse(await (await fetch("http://localhost:8888/health")).json());
 */
export const Health = z.object({ status: z.literal("ok"), uptimeSeconds: z.number().int() });
