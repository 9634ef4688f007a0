import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/**
 * Values that arrive as text in a console URL (query parameters and path segments). Each becomes a bounded value or a
 * coded 400: never NaN, a negative number, a float, an exponent, a number past what the database holds, or text that
 * reaches SQL unparsed. @since 1 (console hardening)
 */

/** The largest id a `bigserial` column hands out that JavaScript still holds exactly. */
export const MAX_ROW_ID = Number.MAX_SAFE_INTEGER;

/** A whole number in `[min, max]` written as plain decimal digits (no sign, exponent, blanks or hex). */
export function decimalInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,16}$/, 'a whole number written with the digits 0-9 only')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** `limit`: how many rows a list answers with, 1 to `max`; `fallback` when absent. */
export function queryLimit(max: number, fallback: number) {
  return decimalInt(1, max).default(fallback);
}

/** A row id (`bigserial`): 1 and up. */
export const rowIdParam = decimalInt(1, MAX_ROW_ID);

/** An id the console made with `randomUUID()` (workstations, group tasks, restores). */
export const uuidParam = lazySchema(() => z.uuid('a UUID'));

/** A query string with no parameters at all. */
export const noQuerySchema = lazySchema(() => z.strictObject({}));
