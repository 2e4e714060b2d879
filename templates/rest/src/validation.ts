import { ValidationError } from "./handlers/base.js";
import type { UserInput } from "./store.js";

/** Longest name accepted, in characters. */
export const MAX_NAME_LENGTH = 100;
/** Longest email address accepted, in characters (RFC 5321 §4.5.3.1.3 allows 254). */
export const MAX_EMAIL_LENGTH = 254;

// Something, an @, then dot-separated labels. No two parts of it can match the same characters,
// so it runs in linear time whatever it is given (test/cli/template-regex.test.ts in
// create-tornado-app checks every template's patterns), and it only ever sees 254 characters.
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;

/** Checks a request body holding a whole user; every problem is a 400 naming the field. */
export function validateUser(body: unknown): UserInput {
  return checkUser(body, false) as UserInput;
}

/** Checks a request body holding some of a user's fields (for PATCH). */
export function validateUserChanges(body: unknown): Partial<UserInput> {
  return checkUser(body, true);
}

function checkUser(body: unknown, partial: boolean): Partial<UserInput> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("body", "must be a JSON object");
  }
  const input = body as Record<string, unknown>;
  const out: Partial<UserInput> = {};
  for (const field of Object.keys(input)) {
    if (field !== "name" && field !== "email") {
      // The name comes from the client: echo a bounded piece of it.
      const shown = field.length > 40 ? `${field.slice(0, 40)}…` : field;
      throw new ValidationError(shown, "is not a user field (expected name, email)");
    }
  }
  // Lengths first: nothing below ever looks at more than a field's limit.
  if (input.name !== undefined || !partial) {
    if (typeof input.name !== "string") throw new ValidationError("name", "must be a non-empty string");
    if (input.name.length > MAX_NAME_LENGTH) throw new ValidationError("name", `must be at most ${MAX_NAME_LENGTH} characters`);
    if (input.name.trim() === "") throw new ValidationError("name", "must be a non-empty string");
    out.name = input.name.trim();
  }
  if (input.email !== undefined || !partial) {
    if (typeof input.email !== "string") throw new ValidationError("email", "must be an email address");
    if (input.email.length > MAX_EMAIL_LENGTH) throw new ValidationError("email", `must be at most ${MAX_EMAIL_LENGTH} characters`);
    if (!EMAIL.test(input.email)) throw new ValidationError("email", "must be an email address");
    out.email = input.email;
  }
  return out;
}

function integerIn(field: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new ValidationError(field, `must be an integer from ${min} to ${max}`);
  return value;
}

/** Reads ?limit= (1-100, default 20) and ?offset= (default 0). */
export function parsePage(limit: string | undefined, offset: string | undefined): { limit: number; offset: number } {
  return { limit: integerIn("limit", limit, 20, 1, 100), offset: integerIn("offset", offset, 0, 0, Number.MAX_SAFE_INTEGER) };
}
