import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labErrorSchema, policySchema, type SandgateError } from '@sandgate/shared';
import { realClock } from '#native-host/clock.ts';
import { createServerAgent } from '#native-host/sandbox/https-call.ts';
import { LabClient } from '#native-host/sandbox/lab-client.ts';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { labRequest, sha256Of, uploadObject } from '#test-helpers/lab-request.ts';
import { pollFor } from '#test-helpers/stack.ts';
import { fileBody } from '#native-host/queue/object-body.ts';

// Attack: a client announces (or sends) an object bigger than the lab's free disk space. Before the fix the lab
// accepted anything under its 8 GiB size cap and wrote until the disk was full: its own analyses, and everything
// else on that file system, then failed to write. Now an upload whose Content-Length would eat into the reserve is
// refused before a byte of it is read, and one that runs out of room while arriving (something else filled the disk)
// is stopped and its partial file deleted, each with INSUFFICIENT_STORAGE, which the agent takes as "try the next
// server".
//
// The free space is the lab's test seam (`freeBytes`): no test should fill a real disk.

const MiB = 1024 * 1024;
const RESERVE = 8 * MiB;

let root: string;
let lab: RunningLab;
let free = 64 * MiB;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sandgate-sec-disk-'));
  lab = await startLab({
    port: 0,
    dataDir: join(root, 'lab'),
    freeBytes: async () => free,
    // The watchdog looks at the disk once per window; a low rate floor so only the disk can cut the upload.
    limits: { diskReserveBytes: RESERVE, uploadWindowMs: 100, minUploadBytesPerSec: 0 },
  });
});
afterAll(async () => {
  await lab?.close();
  rmSync(root, { recursive: true, force: true });
});

const incoming = () => readdirSync(join(root, 'lab', 'incoming'));

describe('attack: an upload larger than the free disk allows', () => {
  it('is refused before a byte of it is read, when its Content-Length would not fit beside the reserve', async () => {
    free = 64 * MiB;
    const announced = 60 * MiB;
    const r = await labRequest(lab, 'POST', '/api/v1/submissions', {
      headers: { 'content-length': announced, 'x-sandgate-sha256': 'a'.repeat(64) },
      body: Buffer.alloc(0),
      expectContinue: true,
    });
    expect(r.status).toBe(507);
    expect(r.continued).toBe(false);
    expect(labErrorSchema.parse(r.body).error.code).toBe('INSUFFICIENT_STORAGE');
    expect(incoming()).toEqual([]);
  });

  it('is stopped and deleted when the disk fills up while it arrives', async () => {
    free = 64 * MiB;
    const object = Buffer.alloc(4 * MiB, 7);
    const body = new PassThrough();
    const answer = labRequest(lab, 'POST', '/api/v1/submissions', {
      headers: { 'content-length': object.length, 'x-sandgate-sha256': sha256Of(object) },
      body,
    });
    body.write(object.subarray(0, MiB));
    await pollFor('the upload to start arriving', () => incoming().length === 1 || undefined);
    // Something else on the machine fills the disk: the 3 MiB still to come no longer fit at all.
    free = 2 * MiB;
    const r = await answer;
    body.destroy();
    expect(r.status).toBe(507);
    expect(labErrorSchema.parse(r.body).error.code).toBe('INSUFFICIENT_STORAGE');
    await pollFor('the partial upload to be deleted', () => incoming().length === 0 || undefined);
    expect((await labRequest(lab, 'GET', `/api/v1/files/${sha256Of(object)}`)).status).toBe(404);
  });

  it('the agent reads the refusal as SERVER_BUSY, retryable, and moves on to its next server', async () => {
    free = RESERVE;
    const sample = Buffer.from('any object at all, the disk is full');
    const path = join(root, 'sample.bin');
    writeFileSync(path, sample);
    const server = policySchema.parse({ sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath } })
      .sandbox.servers[0]!;
    const client = new LabClient(server, {
      agent: createServerAgent({ serverCa: readFileSync(lab.certPath, 'utf8') }),
      connectTimeoutMs: 5000,
      analysisTimeoutMs: 30_000,
      clock: realClock,
    });
    try {
      const err = await client
        .analyse({ sha256: sha256Of(sample), body: fileBody(path, sample.length) }, new AbortController().signal)
        .catch((e: SandgateError) => e);
      expect(err).toMatchObject({ code: 'SERVER_BUSY', retryable: true, params: { serverCode: 'INSUFFICIENT_STORAGE' } });
    } finally {
      client.close();
    }
  });

  it('an upload that fits is received and judged as usual', async () => {
    free = 64 * MiB;
    const r = await uploadObject(lab, Buffer.from('a small object that fits'));
    expect(r.status).toBe(202);
  });
});
