import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAnalysisSchema } from '@sandgate/shared';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { labRequest, waitForAnalysis } from '#test-helpers/lab-request.ts';

const SIZE = 200 * 1024 * 1024;
const CHUNK = 64 * 1024;
const MiB = 1024 * 1024;

/** 200 MB made on the fly, identical on every pass, so it can be hashed first and uploaded second without a file. */
function* object(): Generator<Buffer> {
  for (let off = 0, i = 0; off < SIZE; off += CHUNK, i++) {
    const b = Buffer.alloc(Math.min(CHUNK, SIZE - off), i & 0xff);
    b.writeUInt32LE(i, 0);
    if (off + CHUNK >= SIZE) b.write('SANDGATE-LATE-MARKER', b.length - 32, 'latin1');
    yield b;
  }
}

let root: string;
let lab: RunningLab;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sandgate-lab-large-'));
  mkdirSync(join(root, 'rules'));
  // A rule present makes the YARA engine hold its (bounded) buffer during this analysis too.
  writeFileSync(join(root, 'rules', 'late.yar'), 'rule Late_Marker { strings: $a = "SANDGATE-LATE-MARKER" condition: $a }');
  lab = await startLab({ port: 0, dataDir: root });
});

afterAll(async () => {
  await lab?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('sandgate-lab with a large object', () => {
  it('streams a 200 MB upload to disk and analyses it while its memory stays flat', async () => {
    const hash = createHash('sha256');
    for (const b of object()) hash.update(b);
    const sha256 = hash.digest('hex');

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      const r = await labRequest(lab, 'POST', '/api/v1/submissions', {
        headers: { 'content-length': SIZE, 'x-sandgate-sha256': sha256 },
        body: Readable.from(object(), { objectMode: false }),
      });
      expect(r.status).toBe(202);
      const done = await waitForAnalysis(lab, labAnalysisSchema.parse(r.body).id);
      peak = Math.max(peak, process.memoryUsage().rss);
      expect(done.state).toBe('done');
      expect(done.size).toBe(SIZE);
      expect(done.verdict?.level).toBe('clean');
      expect(done.verdict?.indicators).toContainEqual({ type: 'size', value: String(SIZE) });
      // The marker sits past the YARA scan bound (16 MiB): the engine says it scanned a prefix rather than pretend.
      expect(done.verdict?.engines).toContainEqual(
        expect.objectContaining({ engine: 'yara-x', level: 'clean', detail: expect.stringContaining('scanned the first') }),
      );
    } finally {
      clearInterval(sampler);
    }
    const grewMiB = (peak - before) / MiB;
    console.info(`lab + client RSS grew by ${grewMiB.toFixed(1)} MiB for a ${SIZE / MiB} MiB object`);
    // Client and server share this process; both stream, so growth is bounded by buffers, not by the object's size.
    expect(grewMiB).toBeLessThan(96);
    expect(readdirSync(join(root, 'incoming'))).toEqual([]);
  });
});
