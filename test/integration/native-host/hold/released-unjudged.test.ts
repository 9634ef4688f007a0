import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { HELD_SUFFIX, policySchema, releaseHeldResultSchema, requestSchema, submitResultSchema, type Job } from '@sandgate/shared';
import { createAgent, type Agent } from '#native-host/agent/agent.ts';
import { realClock } from '#native-host/clock.ts';
import { createRouter, type Router } from '#native-host/router.ts';
import { makeCa, makeLeaf, type Pem } from '#test-helpers/pki.ts';
import { maliciousVerdict, startLabServer } from '#test-helpers/lab-protocol-server.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

// Issue 7, `onUnavailable: release`: a held download may be published before its verdict, when the agent's own policy
// says so and no server can be reached (issue 14: never while one can). When a server comes back and the verdict is
// malicious, the agent must quarantine the published file (it followed the file through `release-held`'s job id), and
// still only if it has the judged content. Real agent, real router, a TLS lab that is down at first.

const MALWARE = Buffer.from('MZ\x90\x00 pretend malware released before its verdict');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const CALLER = 'firefox:agent@sandgate.org';

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

/** A port nothing listens on yet: the lab is down until `labUp` starts it there. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function start(): Promise<{ agent: Agent; router: Router; labUp: () => Promise<void> }> {
  const port = await freePort();
  const policy = policySchema.parse({
    sandbox: {
      servers: [{ url: `https://127.0.0.1:${port}` }],
      serverCertificate: ca.cert,
      connectTimeoutMs: 1000,
      analysisTimeoutMs: 30_000,
    },
    capture: { downloadDirs: [downloads], pendingVerdict: { default: 'hold', onUnavailable: 'release' } },
  });
  const agent = await createAgent({
    home,
    loaded: { policy, path: join(root, 'policy.json'), serverCa: ca.cert },
    appVersion: '0.1.0-test',
    clock: realClock,
    backoffBaseMs: 100,
    backoffMaxMs: 200,
  });
  cleanups.push(() => agent.close());
  const labUp = async () => {
    const lab = await startLabServer({ tls: leaf, name: 'lab', port, verdicts: { [sha(MALWARE)]: maliciousVerdict('Test.Delayed') } });
    cleanups.push(() => lab.close());
  };
  return { agent, router: createRouter(agent, { appVersion: '0.1.0-test', home, usersMayRestore: async () => false }), labUp };
}

/** Waits until the agent has found that no server answers (the condition the unjudged release depends on). */
async function serversDown(agent: Agent): Promise<void> {
  while (agent.status().servers.some((s) => s.state !== 'failing')) await new Promise((r) => setTimeout(r, 20));
}

const ask = (router: Router, type: string, payload: object) =>
  router.handle(requestSchema.parse({ v: 1, kind: 'request', id: '1', caller: CALLER, type, payload }));

async function finished(agent: Agent, jobId: string): Promise<Job> {
  for (;;) {
    const j = agent.getJob(jobId);
    if (j && (j.state === 'done' || j.state === 'error')) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The browser's side: the download lands, and is submitted with `hold` (the agent holds it in place first). */
async function landHoldAndSubmit(router: Router, name: string) {
  const landed = join(downloads, name);
  writeFileSync(landed, MALWARE);
  chmodSync(landed, 0o644);
  const submitted = submitResultSchema.parse(
    await ask(router, 'submit-download', {
      path: landed,
      hold: true,
      provenance: { source: 'browser', browser: 'firefox', downloadId: 7 },
    }),
  );
  expect(submitted.heldPath).toBe(`${landed}${HELD_SUFFIX}`);
  expect(lstatSync(submitted.heldPath!).mode & 0o777).toBe(0);
  return { landed, held: { path: submitted.heldPath! }, submitted };
}

describe('a held download released before its verdict', () => {
  it('is quarantined from where it was released when the verdict comes back malicious', async () => {
    const { agent, router, labUp } = await start();
    const { landed, held, submitted } = await landHoldAndSubmit(router, 'setup.exe');

    // No verdict, no server reachable and policy says "release": the extension publishes it unjudged, naming the job.
    await serversDown(agent);
    const released = releaseHeldResultSchema.parse(
      await ask(router, 'release-held', { path: held.path, sha256: submitted.sha256, jobId: submitted.jobId }),
    );
    expect(released.path).toBe(landed);
    expect(agent.getJob(submitted.jobId)).toMatchObject({ path: landed });
    expect(agent.getJob(submitted.jobId)?.verdict).toBeUndefined();
    expect(lstatSync(landed).mode & 0o777).toBe(0o644);

    await labUp();
    const job = await finished(agent, submitted.jobId);
    expect(job.verdict).toMatchObject({ level: 'malicious', threat: 'Test.Delayed' });
    expect(job.actions).toContainEqual(expect.objectContaining({ type: 'quarantine', status: 'done' }));
    expect(existsSync(landed)).toBe(false);
    expect(existsSync(held.path)).toBe(false);
    const items = await QuarantineStore.open(home).list();
    expect(items.filter((i) => i.originalPath === landed)).toHaveLength(1);
  });

  it('a released file changed meanwhile is left alone: only the judged content is ever quarantined', async () => {
    const { agent, router, labUp } = await start();
    const { landed, held, submitted } = await landHoldAndSubmit(router, 'tool.exe');
    await serversDown(agent);
    await ask(router, 'release-held', { path: held.path, sha256: submitted.sha256, jobId: submitted.jobId });
    appendFileSync(landed, ' and the person edited it');
    await labUp();

    const job = await finished(agent, submitted.jobId);
    expect(job.verdict?.level).toBe('malicious');
    expect(job.actions).toContainEqual(expect.objectContaining({ type: 'quarantine', status: 'failed', code: 'ORIGINAL_CHANGED' }));
    expect(readFileSync(landed, 'utf8')).toContain('the person edited it');
  });
});
