import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HELD_SUFFIX, holdLandedResultSchema, policySchema, releaseHeldResultSchema, requestSchema, submitResultSchema, type Job } from '@sandgate/shared';
import { createAgent, type Agent } from '../../../../native-host/src/agent/agent.ts';
import { realClock } from '../../../../native-host/src/clock.ts';
import { list as listQuarantine } from '../../../../native-host/src/quarantine/list-items.ts';
import { createRouter, type Router } from '../../../../native-host/src/router.ts';
import { makeCa, makeLeaf, type Pem } from '../../../helpers/pki.ts';
import { maliciousVerdict, startLabServer } from '../../../helpers/lab-protocol-server.ts';

// Issue 7, `onUnavailable: release`: a held download may be published before its verdict. When the verdict then comes
// back malicious, the agent must quarantine the published file (it followed the file through `release-held`'s job
// id), and still only if it has the judged content. Real agent, real router, a TLS lab whose verdict is delayed.

const MALWARE = Buffer.from('MZ\x90\x00 pretend malware released before its verdict');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
// Long enough that the release, a few local file operations, always comes first; nothing is asserted on durations.
const VERDICT_DELAY_MS = 3000;

let ca: ReturnType<typeof makeCa>;
let leaf: Pem;
let root: string;
let home: string;
let downloads: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  ca = makeCa();
  leaf = makeLeaf(ca);
});
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-hold-')));
  home = join(root, 'home');
  downloads = join(root, 'Downloads');
  mkdirSync(downloads, { recursive: true });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

async function start(): Promise<{ agent: Agent; router: Router }> {
  const lab = await startLabServer({ tls: leaf, name: 'lab', verdicts: { [sha(MALWARE)]: maliciousVerdict('Test.Delayed') }, analysisDelayMs: VERDICT_DELAY_MS });
  cleanups.push(() => lab.close());
  const policy = policySchema.parse({ sandbox: { servers: [{ url: lab.url }], serverCertificate: ca.cert, connectTimeoutMs: 1000, analysisTimeoutMs: 30_000 } });
  const agent = await createAgent({ home, loaded: { policy, path: join(root, 'policy.json'), serverCa: ca.cert }, appVersion: '0.1.0-test', clock: realClock });
  cleanups.push(() => agent.close());
  return { agent, router: createRouter(agent, { appVersion: '0.1.0-test', home, usersMayRestore: async () => false }) };
}

const ask = (router: Router, type: string, payload: object) => router.handle(requestSchema.parse({ v: 1, kind: 'request', id: '1', type, payload }));

async function finished(agent: Agent, jobId: string): Promise<Job> {
  for (;;) {
    const j = agent.getJob(jobId);
    if (j && (j.state === 'done' || j.state === 'error')) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The browser's side: the download lands, the agent holds it in place, and it is submitted under its held name. */
async function landHoldAndSubmit(router: Router, name: string) {
  const landed = join(downloads, name);
  writeFileSync(landed, MALWARE);
  chmodSync(landed, 0o644);
  const held = holdLandedResultSchema.parse(await ask(router, 'hold-landed', { path: landed }));
  expect(held.path).toBe(`${landed}${HELD_SUFFIX}`);
  expect(lstatSync(held.path).mode & 0o777).toBe(0);
  const submitted = submitResultSchema.parse(await ask(router, 'submit-download', { path: held.path, provenance: { source: 'browser', browser: 'firefox', downloadId: 7 } }));
  return { landed, held, submitted };
}

describe('a held download released before its verdict', () => {
  it('is quarantined from where it was released when the verdict comes back malicious', async () => {
    const { agent, router } = await start();
    const { landed, held, submitted } = await landHoldAndSubmit(router, 'setup.exe');

    // No verdict yet and policy says "release": the extension publishes it unjudged, naming the job.
    const released = releaseHeldResultSchema.parse(await ask(router, 'release-held', { path: held.path, sha256: submitted.sha256, jobId: submitted.jobId, mode: held.mode }));
    expect(released.path).toBe(landed);
    expect(agent.getJob(submitted.jobId)).toMatchObject({ path: landed });
    expect(agent.getJob(submitted.jobId)?.verdict).toBeUndefined();
    expect(lstatSync(landed).mode & 0o777).toBe(0o644);

    const job = await finished(agent, submitted.jobId);
    expect(job.verdict).toMatchObject({ level: 'malicious', threat: 'Test.Delayed' });
    expect(job.actions).toContainEqual(expect.objectContaining({ type: 'quarantine', status: 'done' }));
    expect(existsSync(landed)).toBe(false);
    expect(existsSync(held.path)).toBe(false);
    const items = await listQuarantine(home);
    expect(items.filter((i) => i.originalPath === landed)).toHaveLength(1);
  });

  it('a released file changed meanwhile is left alone: only the judged content is ever quarantined', async () => {
    const { agent, router } = await start();
    const { landed, held, submitted } = await landHoldAndSubmit(router, 'tool.exe');
    await ask(router, 'release-held', { path: held.path, sha256: submitted.sha256, jobId: submitted.jobId, mode: held.mode });
    appendFileSync(landed, ' and the person edited it');

    const job = await finished(agent, submitted.jobId);
    expect(job.verdict?.level).toBe('malicious');
    expect(job.actions).toContainEqual(expect.objectContaining({ type: 'quarantine', status: 'failed', code: 'ORIGINAL_CHANGED' }));
    expect(readFileSync(landed, 'utf8')).toContain('the person edited it');
  });
});
