import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { responsePolicySchema } from '@sandgate/shared';

// `response.allowSha256`: the known false positives an administrator (or a console restore with `allow`) lists.

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('response.allowSha256 in the policy', () => {
  it('is empty unless the administrator lists something', () => {
    expect(responsePolicySchema.parse({}).allowSha256).toEqual([]);
  });

  it('accepts lower-case SHA-256 values', () => {
    const list = [sha('a false positive'), sha('another one')];
    expect(responsePolicySchema.parse({ allowSha256: list }).allowSha256).toEqual(list);
  });

  it('refuses an upper-case SHA-256, naming the key, rather than never matching it', () => {
    const r = responsePolicySchema.safeParse({ allowSha256: [sha('x').toUpperCase()] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['allowSha256', 0], message: expect.stringContaining('lower-case SHA-256') });
  });

  it('refuses something that is not a SHA-256 (an MD5, a file name)', () => {
    expect(responsePolicySchema.safeParse({ allowSha256: [createHash('md5').update('x').digest('hex')] }).success).toBe(false);
    expect(responsePolicySchema.safeParse({ allowSha256: ['setup.exe'] }).success).toBe(false);
  });

  it('holds up to 10,000 entries and refuses more', () => {
    const list = Array.from({ length: 10_000 }, (_, i) => sha(String(i)));
    expect(responsePolicySchema.safeParse({ allowSha256: list }).success).toBe(true);
    expect(responsePolicySchema.safeParse({ allowSha256: [...list, sha('one more')] }).success).toBe(false);
  });
});
