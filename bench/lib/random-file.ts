import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * Writes `size` bytes of incompressible, non-sparse content (an AES-128-CTR keystream under a random key: fast, every
 * block different) and returns its SHA-256. Random content keeps any compression or deduplication from flattering a
 * throughput figure, and the random key makes each file new to the sandbox's verdict cache.
 */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const hash = createHash('sha256');
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  const zeros = Buffer.alloc(8 * 1024 * 1024);
  let left = size;
  while (left > 0) {
    const n = Math.min(left, zeros.length);
    const chunk = cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
    left -= n;
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}
