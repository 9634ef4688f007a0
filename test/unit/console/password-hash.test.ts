import { describe, expect, it } from 'vitest';
import { hashPassword, randomPassword, SCRYPT_PARAMS, verifyPassword } from '#console/users/password-hash.ts';

describe('console password hashing', () => {
  it('stores scrypt with N = 2^15, r = 8, p = 1 and a salt of its own per user', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(SCRYPT_PARAMS.log2N).toBeGreaterThanOrEqual(15);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
  });

  it('accepts the right password and refuses a wrong one or a damaged hash', async () => {
    const h = await hashPassword('correct horse battery');
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h)).toBe(false);
    expect(await verifyPassword('correct horse battery', h.replace(/^scrypt/, 'md5'))).toBe(false);
    expect(await verifyPassword('correct horse battery', 'scrypt$40$8$1$AAAA$BBBB')).toBe(false);
  });

  it('makes generated passwords long and different each time', () => {
    const p = randomPassword();
    expect(p.length).toBeGreaterThanOrEqual(20);
    expect(randomPassword()).not.toBe(p);
  });
});
