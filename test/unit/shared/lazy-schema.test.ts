import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lazySchema } from '../../../shared/src/lazy-schema.ts';

// Protocol schemas are built on first use (start-up, issue 15); they must validate exactly as the schema itself.
describe('a lazily built schema', () => {
  it('is not built until used, then once', () => {
    let builds = 0;
    const schema = lazySchema(() => {
      builds += 1;
      return z.object({ a: z.string() });
    });
    expect(builds).toBe(0);
    expect(schema.parse({ a: 'x' })).toEqual({ a: 'x' });
    expect(schema.safeParse({ a: 1 }).success).toBe(false);
    expect(builds).toBe(1);
  });

  it('refuses what the schema refuses, strict objects and all', () => {
    const strict = lazySchema(() => z.strictObject({ a: z.number().int() }));
    expect(() => strict.parse({ a: 1, b: 2 })).toThrow();
    expect(() => strict.parse({ a: 1.5 })).toThrow();
    expect(strict.parse({ a: 1 })).toEqual({ a: 1 });
  });

  it('can be embedded, chained and told apart in a union like the schema itself', () => {
    const inner = lazySchema(() => z.object({ kind: z.literal('a'), n: z.number() }));
    const other = lazySchema(() => z.object({ kind: z.literal('b') }));
    const union = lazySchema(() => z.discriminatedUnion('kind', [inner, other]));
    const outer = z.object({ item: union, maybe: inner.optional(), list: z.array(inner).max(1) });
    expect(outer.parse({ item: { kind: 'b' }, list: [{ kind: 'a', n: 1 }] })).toEqual({
      item: { kind: 'b' },
      list: [{ kind: 'a', n: 1 }],
    });
    expect(outer.safeParse({ item: { kind: 'c' }, list: [] }).success).toBe(false);
    expect(
      outer.safeParse({
        item: { kind: 'b' },
        list: [
          { kind: 'a', n: 1 },
          { kind: 'a', n: 2 },
        ],
      }).success,
    ).toBe(false);
    expect(inner instanceof z.ZodObject).toBe(true);
    expect(inner.extend({ m: z.string() }).parse({ kind: 'a', n: 1, m: 'x' })).toEqual({ kind: 'a', n: 1, m: 'x' });
  });
});
