import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labErrorSchema } from '@sandgate/shared';
import { openIdleTcp, openIdleTls, type IdleConnection } from '#test-helpers/idle-connections.ts';
import { spawnLab, type LabProcess } from '#test-helpers/lab-process.ts';
import { labRequest } from '#test-helpers/lab-request.ts';
import { pollFor } from '#test-helpers/stack.ts';

// Attack: one machine opens connections to the lab as fast as it can and never sends a request. Before the fix the
// lab had no cap at all: every connection held a descriptor until a timeout, so one address could exhaust the lab's
// descriptors and keep every workstation from getting a verdict. Now a client past its share is told
// TOO_MANY_CONNECTIONS, past twice its share it is closed before TLS, and other clients are served throughout.
//
// The lab runs as a real process (`sandgate-lab serve --max-connections-per-client 4`) so that what is counted is
// what it really holds: its file descriptors in /proc.

const PER_CLIENT = 4;
const FLOOD = 200;
// Descriptors Node may open or close on its own (a worker, a timer fd) between two readings.
const SLACK = 3;

let dir: string;
let lab: LabProcess;
let baseline: number;
const attacker: IdleConnection[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-sec-flood-'));
  // A long headers timeout, so it is the cap and not a timeout that is seen to act.
  lab = await spawnLab(join(dir, 'lab'), ['--max-connections-per-client', String(PER_CLIENT), '--headers-timeout-ms', '60000']);
  expect((await labRequest(lab, 'GET', '/api/v1/health')).status).toBe(200);
  baseline = lab.descriptors();
});
afterAll(async () => {
  for (const c of attacker) c.socket.destroy();
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('attack: a connection flood from one address', () => {
  it('past its share, the flooding address is refused with TOO_MANY_CONNECTIONS', async () => {
    for (let i = 0; i < PER_CLIENT; i++) attacker.push(await openIdleTls(lab.url, lab.certPath, '127.0.0.1'));
    const refused = await labRequest(lab, 'GET', '/api/v1/health', { tls: { localAddress: '127.0.0.1' } });
    expect(refused.status, lab.stderr()).toBe(503);
    expect(labErrorSchema.parse(refused.body).error.code).toBe('TOO_MANY_CONNECTIONS');
  });

  it('the rest of the flood is closed at once and the lab holds no more than twice the share', async () => {
    const flood = await Promise.all(Array.from({ length: FLOOD }, () => openIdleTcp(lab.url, '127.0.0.1').catch(() => undefined)));
    for (const c of flood) if (c) attacker.push(c);
    // Those past twice the share are closed by the lab without a word; the few in between wait for their handshake.
    await pollFor(
      'the lab to close the flood past twice the share',
      () => attacker.filter((c) => c.closed).length >= attacker.length - 2 * PER_CLIENT || undefined,
    );
    expect(lab.descriptors()).toBeLessThanOrEqual(baseline + 2 * PER_CLIENT + SLACK);
  });

  it('meanwhile a workstation at another address is served', async () => {
    const r = await labRequest(lab, 'GET', '/api/v1/health', { tls: { localAddress: '127.0.0.2' } });
    expect(r.status).toBe(200);
  });

  it('when the flood stops, the lab is back to what it held before and serves the address again', async () => {
    for (const c of attacker) c.socket.destroy();
    await pollFor('the lab descriptors to return to their baseline', () => lab.descriptors() <= baseline + SLACK || undefined);
    expect((await labRequest(lab, 'GET', '/api/v1/health', { tls: { localAddress: '127.0.0.1' } })).status).toBe(200);
  });
});
