import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labAnalysisSchema, labErrorSchema } from '@sandgate/shared';
import { startLab, type LabOptions, type RunningLab } from '#lab/lab-server.ts';
import { openIdleTcp, openIdleTls, type IdleConnection } from '#test-helpers/idle-connections.ts';
import { labRequest, sha256Of, uploadObject } from '#test-helpers/lab-request.ts';
import { pollFor } from '#test-helpers/stack.ts';

// The lab's limits, each met by a well-behaved client that simply asks too much at once: it gets a coded answer it
// can act on (try another server, come back later), and the lab keeps serving everyone else.

let dir: string;
let lab: RunningLab | undefined;
const held: IdleConnection[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-limits-'));
});
afterEach(async () => {
  for (const c of held.splice(0)) c.socket.destroy();
  await lab?.close();
  lab = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(opts: Partial<LabOptions>): Promise<RunningLab> {
  lab = await startLab({ port: 0, dataDir: dir, ...opts });
  return lab;
}

describe('sandgate-lab limits', () => {
  it('receives at most --max-uploads at once; one more is refused with TOO_MANY_UPLOADS before it is read', async () => {
    const l = await start({ limits: { maxUploads: 2, minUploadBytesPerSec: 0 } });
    const objects = [Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2)];
    const bodies = objects.map(() => new PassThrough());
    const pending = objects.map((o, i) =>
      labRequest(l, 'POST', '/api/v1/submissions', {
        headers: { 'content-length': o.length, 'x-sandgate-sha256': sha256Of(o) },
        body: bodies[i],
      }),
    );
    // Half of each body sent: both uploads are now being received.
    bodies.forEach((b, i) => b.write(objects[i]!.subarray(0, 1024)));
    await pollFor('both uploads to be in progress', () => readdirSync(join(dir, 'incoming')).length === 2 || undefined);

    const third = await uploadObject(l, Buffer.from('a third upload'), { expectContinue: true });
    expect(third.status).toBe(503);
    expect(third.continued).toBe(false);
    expect(third.headers['retry-after']).toBe('5');
    expect(labErrorSchema.parse(third.body).error.code).toBe('TOO_MANY_UPLOADS');

    bodies.forEach((b, i) => b.end(objects[i]!.subarray(1024)));
    for (const r of await Promise.all(pending)) expect(r.status).toBe(202);
    expect((await uploadObject(l, Buffer.from('after the others'))).status).toBe(202);
  });

  it('past --max-connections in total, a new connection is told TOO_MANY_CONNECTIONS, whatever its address', async () => {
    const l = await start({ limits: { maxConnections: 2, headersTimeoutMs: 60_000 } });
    held.push(await openIdleTls(l.url, l.certPath, '127.0.0.2'), await openIdleTls(l.url, l.certPath, '127.0.0.3'));
    const r = await labRequest(l, 'GET', '/api/v1/health', { tls: { localAddress: '127.0.0.4' } });
    expect(r.status).toBe(503);
    expect(labErrorSchema.parse(r.body).error.code).toBe('TOO_MANY_CONNECTIONS');

    for (const c of held.splice(0)) c.socket.destroy();
    await pollFor('the lab to count no connection', () => l.openConnections() === 0 || undefined);
    expect((await labRequest(l, 'GET', '/api/v1/health', { tls: { localAddress: '127.0.0.4' } })).status).toBe(200);
  });

  it('closes a connection that completes neither TLS nor a request within --headers-timeout-ms', async () => {
    const l = await start({ limits: { headersTimeoutMs: 300 } });
    const silentTcp = await openIdleTcp(l.url);
    const silentTls = await openIdleTls(l.url, l.certPath);
    held.push(silentTcp, silentTls);
    await pollFor('the lab to close both silent connections', () => (silentTcp.closed && silentTls.closed) || undefined);
    await pollFor('the lab to count no connection', () => l.openConnections() === 0 || undefined);
    expect((await labRequest(l, 'GET', '/api/v1/health')).status).toBe(200);
  });

  it('a client that keeps to the limits is served as before: upload, verdict, look-up', async () => {
    const l = await start({ limits: { maxUploads: 1, maxConnectionsPerClient: 2 } });
    const obj = Buffer.from('an ordinary upload');
    const r = await uploadObject(l, obj);
    expect(r.status).toBe(202);
    const id = labAnalysisSchema.parse(r.body).id;
    const done = labAnalysisSchema.parse((await labRequest(l, 'GET', `/api/v1/submissions/${id}?wait=20000`)).body);
    expect(done.state).toBe('done');
    expect((await labRequest(l, 'GET', `/api/v1/files/${sha256Of(obj)}`)).status).toBe(200);
  });
});
