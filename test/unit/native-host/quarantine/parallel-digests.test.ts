import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { inlineDigests, workerDigests, type ChunkDigests, type DigestName } from '#native-host/quarantine/parallel-digests.ts';

const CHUNK = 64 * 1024;

async function feed(d: ChunkDigests, content: Buffer): Promise<Record<DigestName, string>> {
  for (let o = 0; o < content.length; o += CHUNK) {
    const slot = await d.slot();
    const n = content.copy(slot.buf, 0, o, Math.min(o + CHUNK, content.length));
    slot.submit(n);
  }
  return d.digest();
}

describe('quarantine > digests on worker threads', () => {
  it('gives the same SHA-256, SHA-1 and MD5 as hashing on this thread, over many more chunks than the ring holds', async () => {
    const content = randomBytes(CHUNK * 37 + 123);
    const expected = {
      sha256: createHash('sha256').update(content).digest('hex'),
      sha1: createHash('sha1').update(content).digest('hex'),
      md5: createHash('md5').update(content).digest('hex'),
    };
    expect(await feed(workerDigests([['md5'], ['sha256', 'sha1']], CHUNK, 3), content)).toEqual(expected);
    expect(await feed(inlineDigests(['sha256', 'sha1', 'md5'], CHUNK), content)).toEqual(expected);
  });

  it('reports a worker that fails instead of waiting for it forever', async () => {
    // Not a digest name: the worker throws while starting.
    const d = workerDigests([['sha256'], ['no-such-digest' as DigestName]], CHUNK, 2);
    await expect(feed(d, randomBytes(CHUNK * 8))).rejects.toThrow();
    await d.close();
  });
});
