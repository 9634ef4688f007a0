import { SandgateError } from '@sandgate/shared';
import type { z } from 'zod';

/** Where a bad value was: the query string, a path segment or the body. */
export type InputPlace = 'query' | 'path' | 'body';

/** `400 MESSAGE_INVALID` naming each bad key and why, never echoing the value. */
export function invalidInput(place: InputPlace, error: z.ZodError, summary?: string): SandgateError {
  const issues = error.issues.map((i) => ({ key: i.path.map(String).join('.'), message: i.message }));
  const what =
    summary ??
    (place === 'body' ? 'the request body does not match the protocol' : `bad ${place === 'query' ? 'query parameter' : 'path segment'}`);
  return new SandgateError('MESSAGE_INVALID', `${what}: ${issues.map((i) => `${i.key || `(${place})`}: ${i.message}`).join('; ')}`, {
    params: { in: place, issues },
  });
}

/** The query string parsed with `schema`; a parameter given twice is refused rather than one of them picked. */
export function parseQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  const seen = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    if (seen.has(k)) {
      throw new SandgateError('MESSAGE_INVALID', `bad query parameter: ${k} is given more than once`, {
        params: { in: 'query', issues: [{ key: k, message: 'given more than once' }] },
      });
    }
    seen.set(k, v);
  }
  // fromEntries defines own properties, so a parameter named __proto__ is only a (refused) key.
  const r = schema.safeParse(Object.fromEntries(seen));
  if (!r.success) throw invalidInput('query', r.error);
  return r.data;
}

/** One path segment (an id) parsed with `schema`. */
export function parsePathParam<S extends z.ZodType>(value: string | undefined, schema: S, name: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ key: name, message: i.message }));
    throw new SandgateError('MESSAGE_INVALID', `bad path segment: ${issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`, {
      params: { in: 'path', issues },
    });
  }
  return r.data;
}
