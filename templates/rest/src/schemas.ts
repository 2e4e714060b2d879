import { z } from "zod";

/** Longest name accepted, in characters. */
export const MAX_NAME_LENGTH = 100;
/** Longest email address accepted, in characters (RFC 5321 §4.5.3.1.3 allows 254). */
export const MAX_EMAIL_LENGTH = 254;

// Something, an @, then dot-separated labels. No two parts of it can match the same characters,
// so it runs in linear time whatever it is given (test/cli/template-regex.test.ts in
// create-tornado-app checks every template's patterns), and it only ever sees 254 characters:
// the length check before it aborts (`abort: true`), so nothing longer reaches it.
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;

const name = z
  .string()
  .max(MAX_NAME_LENGTH, { message: `must be at most ${MAX_NAME_LENGTH} characters`, abort: true })
  .trim()
  .min(1, { message: "must be a non-empty string" });
const email = z
  .string()
  .max(MAX_EMAIL_LENGTH, { message: `must be at most ${MAX_EMAIL_LENGTH} characters`, abort: true })
  .regex(EMAIL, { message: "must be an email address" });

/**
 * The fields a client sets (POST and PUT). Any other field is refused (400 `body.admin: Unknown field`).
 *
 * @example
 * const input = UserInput.parse({ name: "Ann", email: "ann@example.com" });
 */
export const UserInput = z.object({ name, email });

/** Some of a user's fields (PATCH). @example UserChanges.parse({ email: "a@example.org" }) */
export const UserChanges = UserInput.partial();

/** A user as the API returns it. @example const user: z.infer<typeof User> = await users.get("1"); */
export const User = UserInput.extend({
  id: z.string(),
  createdAt: z.string().describe("When the user was created (ISO 8601)"),
});

/** `?limit=` (1-100, default 20) and `?offset=` (default 0); "?limit=5" arrives as 5. @example Page.parse({}) // { limit: 20, offset: 0 } */
export const Page = z.object({
  limit: z.number().int().min(1).max(100).default(20),
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});

/** A page of users. @example const page: z.infer<typeof UserPage> = { items: [], total: 0, limit: 20, offset: 0 }; */
export const UserPage = z.object({
  items: z.array(User),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

/** The `:id` of /users/:id: the digits the store hands out. @example UserId.parse({ id: "12" }) */
export const UserId = z.object({ id: z.string().regex(/^\d{1,16}$/, { message: "must be a user id (digits)" }) });

/**
 * Every error this API answers with (see `ApiHandler.writeError`): `issues` lists what was wrong
 * with a request that failed its schemas, each with its location (`body.email`, `query.limit`).
 *
 * @example
 * { "error": { "status": 404, "message": "no user with id 9" } }
 */
export const ApiError = z.object({
  error: z.object({
    status: z.number().int(),
    message: z.string(),
    issues: z.array(z.object({ location: z.string(), message: z.string() })).optional(),
  }),
});

/** GET /health's answer. @example Health.parse({ status: "ok", uptimeSeconds: 3 }) */
export const Health = z.object({ status: z.literal("ok"), uptimeSeconds: z.number().int() });
