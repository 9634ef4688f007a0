import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Console passwords under scrypt (memory-hard): N = 2^15, r = 8, p = 1 uses 32 MiB and tens of milliseconds per
 * guess, per-user 16-byte salt. Stored as `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>` so the cost can be raised
 * later without breaking stored hashes.
 */
export const SCRYPT_PARAMS = { log2N: 15, r: 8, p: 1, keyLength: 32 } as const;

function derive(password: string, salt: Buffer, log2N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  const N = 2 ** log2N;
  // Node refuses anything above maxmem (32 MiB by default), and N=2^15, r=8 needs exactly 32 MiB plus a little.
  const opts: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, keyLength, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const { log2N, r, p, keyLength } = SCRYPT_PARAMS;
  const salt = randomBytes(16);
  const hash = await derive(password, salt, log2N, r, p, keyLength);
  return ['scrypt', log2N, r, p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** Constant-time comparison; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every((n) => Number.isInteger(n) && n > 0) || log2N > 22) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length < 16) return false;
  const actual = await derive(password, salt, log2N, r, p, expected.length);
  return timingSafeEqual(actual, expected);
}

/** What `user add` prints when no password is given: 20 characters from a URL-safe alphabet (≈ 120 bits). */
export function randomPassword(): string {
  return randomBytes(15).toString('base64url');
}
