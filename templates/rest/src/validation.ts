import { ValidationError } from "./handlers/base.js";
import type { UserInput } from "./store.js";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

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
    if (field !== "name" && field !== "email") throw new ValidationError(field, "is not a user field (expected name, email)");
  }
  if (input.name !== undefined || !partial) {
    if (typeof input.name !== "string" || input.name.trim() === "") throw new ValidationError("name", "must be a non-empty string");
    if (input.name.length > 100) throw new ValidationError("name", "must be at most 100 characters");
    out.name = input.name.trim();
  }
  if (input.email !== undefined || !partial) {
    if (typeof input.email !== "string" || !EMAIL.test(input.email)) throw new ValidationError("email", "must be an email address");
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
