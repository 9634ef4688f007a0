import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAnalysisSchema, labErrorSchema } from '@sandgate/shared';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { labRequest } from '#test-helpers/lab-request.ts';

// A client that long-polls gets its verdict the moment the analysis ends, in one request, instead of discovering it on
// its next scheduled poll. The analysis is slowed down so that "one request" cannot happen by luck.
let root: string;
let lab: RunningLab;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sandgate-lab-poll-'));
  lab = await startLab({ port: 0, dataDir: join(root, 'lab'), analysisDelayMs: 400 });
});
afterAll(async () => {
  await lab?.close();
  rmSync(root, { recursive: true, force: true });
});

async function submit(text: string) {
  const body = Buffer.from(text);
  const r = await labRequest(lab, 'POST', '/api/v1/submissions', {
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': body.length,
      'x-sandgate-sha256': createHash('sha256').update(body).digest('hex'),
    },
    body,
  });
  return labAnalysisSchema.parse(r.body);
}

describe('sandgate-lab long poll', () => {
  it('holds GET /submissions/{id}?wait= until the verdict is in, and answers with it', async () => {
    const queued = await submit('long poll, first object');
    expect(queued.state).toBe('queued');
    const r = await labRequest(lab, 'GET', `/api/v1/submissions/${queued.id}?wait=20000`);
    expect(r.status).toBe(200);
    expect(labAnalysisSchema.parse(r.body)).toMatchObject({ id: queued.id, state: 'done', verdict: { level: 'clean' } });
  });

  it('without wait answers at once, still analysing, as protocol version 1 always did', async () => {
    const queued = await submit('long poll, second object');
    const r = await labRequest(lab, 'GET', `/api/v1/submissions/${queued.id}`);
    expect(labAnalysisSchema.parse(r.body).state).not.toBe('done');
  });

  it('refuses a wait that is not a number of milliseconds', async () => {
    const queued = await submit('long poll, third object');
    const r = await labRequest(lab, 'GET', `/api/v1/submissions/${queued.id}?wait=soon`);
    expect(r.status).toBe(400);
    expect(labErrorSchema.parse(r.body).error.code).toBe('BAD_REQUEST');
  });
});
