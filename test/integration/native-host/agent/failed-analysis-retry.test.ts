import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { policySchema, type AgentEvent, type Job, type PolicyInput } from '@sandgate/shared';
import { createAgent } from '../../../../native-host/src/agent/agent.ts';
import { realClock, type Clock } from '../../../../native-host/src/clock.ts';
import { sandgatePaths } from '../../../../native-host/src/config/paths.ts';
import { EventLog } from '../../../../native-host/src/events/event-log.ts';
import { MAX_ANALYSIS_ATTEMPTS } from '../../../../native-host/src/sandbox/retry-policy.ts';
import { EICAR, sha256, startCapeEmulator } from '../../../helpers/cape-emulator.ts';
import { startCuckooEmulator } from '../../../helpers/cuckoo-emulator.ts';
import { maliciousVerdict, startLabServer } from '../../../helpers/lab-protocol-server.ts';
import { makeCa, makeLeaf, type Pem } from '../../../helpers/pki.ts';

/**
 * A sandbox that could not analyse an object (a crashed guest, a processing error) is asked again: the agent uploads
 * the object afresh, both when its own upload's analysis failed and when the look-up by hash finds an analysis that
 * failed earlier. At most MAX_ANALYSIS_ATTEMPTS analyses may fail per job; then the job ends ANALYSIS_FAILED and the
 * event log says how many were made. Uploads are counted by the servers, not taken from the agent's word.
 */

const EICAR_SHA = sha256(Buffer.from(EICAR));
let ca: ReturnType<typeof makeCa>;
let leaf: Pem;
let root: string;
let home: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  ca = makeCa();
  leaf = makeLeaf(ca);
});
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-failed-analysis-')));
  home = join(root, 'home');
  mkdirSync(join(root, 'Downloads'), { recursive: true });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

/** Real time, with CAPE's and Cuckoo's multi-second polling pauses cut short. */
const quick: Clock = { ...realClock, sleep: (ms, signal) => realClock.sleep(Math.min(ms, 20), signal) };

async function judgeEicar(servers: PolicyInput['sandbox']['servers']): Promise<Job> {
  const policy = policySchema.parse({ sandbox: { servers, serverCertificate: ca.cert, analysisTimeoutMs: 20_000 }, response: { quarantine: false } });
  const agent = await createAgent({ home, loaded: { policy, path: join(root, 'policy.json'), serverCa: ca.cert }, appVersion: '0.1.0-test', clock: quick });
  cleanups.push(() => agent.close());
  const path = join(root, 'Downloads', 'eicar.com');
  writeFileSync(path, EICAR);
  const { jobId } = await agent.submit(path, { source: 'cli' });
  for (;;) {
    const j = agent.getJob(jobId);
    if (j && (j.state === 'done' || j.state === 'error')) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const analysisFailures = (): AgentEvent[] => new EventLog(sandgatePaths(home).events).read().events.filter((e) => e.type === 'server-error' && e.code === 'ANALYSIS_FAILED');

describe('a failed analysis leads to a fresh upload, within a bound', () => {
  it('sandgate lab: two failed analyses, then the third upload is judged; each failure is an event saying it will upload again', async () => {
    const lab = await startLabServer({ tls: leaf, name: 'lab', failAnalyses: 2, verdicts: { [EICAR_SHA]: maliciousVerdict() } });
    cleanups.push(() => lab.close());
    const job = await judgeEicar([{ url: lab.url }]);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious', server: lab.url } });
    expect(lab.uploads).toHaveLength(3);
    expect(analysisFailures().map((e) => [e.attempts, e.jobId])).toEqual([
      [1, job.jobId],
      [2, job.jobId],
    ]);
    expect(analysisFailures()[0]!.message).toMatch(/1 of at most 3 analyses failed, the object is uploaded again/);
  });

  it(`sandgate lab: after ${MAX_ANALYSIS_ATTEMPTS} failed analyses the job ends ANALYSIS_FAILED with the count, and nothing more is uploaded`, async () => {
    const lab = await startLabServer({ tls: leaf, name: 'lab', failAnalyses: 100 });
    cleanups.push(() => lab.close());
    const job = await judgeEicar([{ url: lab.url }]);
    expect(job).toMatchObject({ state: 'error', error: { code: 'ANALYSIS_FAILED', params: { attempts: MAX_ANALYSIS_ATTEMPTS, maxAttempts: MAX_ANALYSIS_ATTEMPTS } } });
    expect(job.error!.message).toMatch(/3 of at most 3 analyses failed, giving up/);
    expect(lab.uploads).toHaveLength(MAX_ANALYSIS_ATTEMPTS);
    expect(analysisFailures().map((e) => e.attempts)).toEqual([1, 2, 3]);
    expect(analysisFailures().at(-1)!.message).toMatch(/giving up/);
  });

  it('sandgate lab: a look-up that finds an analysis which failed earlier uploads the object again instead of ending the job', async () => {
    const lab = await startLabServer({ tls: leaf, name: 'lab', knownFailed: [EICAR_SHA], verdicts: { [EICAR_SHA]: maliciousVerdict() } });
    cleanups.push(() => lab.close());
    const job = await judgeEicar([{ url: lab.url }]);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious' } });
    expect(lab.uploads).toHaveLength(1);
    expect(lab.transcript.slice(0, 2)).toEqual(['lab GET /api/v1/files/{sha}', 'lab POST /api/v1/submissions']);
    expect(analysisFailures()).toEqual([]);
  });

  it('CAPE: a task that ended failed_analysis is followed by a new task, which is reported', async () => {
    const cape = await startCapeEmulator({ tls: leaf, failWith: 'failed_analysis', failFirst: 1 });
    cleanups.push(() => cape.close());
    const job = await judgeEicar([{ url: cape.url, kind: 'cape' }]);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious', threat: 'EICAR-Test-File', analysisId: '2' } });
    expect(cape.counters.uploads).toBe(2);
    expect(analysisFailures().map((e) => e.attempts)).toEqual([1]);
  });

  it('CAPE: a file whose earlier task failed is uploaded again rather than judged by that task', async () => {
    const cape = await startCapeEmulator({ tls: leaf, knownFailed: [Buffer.from(EICAR)] });
    cleanups.push(() => cape.close());
    const job = await judgeEicar([{ url: cape.url, kind: 'cape' }]);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious', analysisId: '2' } });
    expect(cape.counters.uploads).toBe(1);
  });

  it(`Cuckoo: every task ends failed_processing, so the job ends ANALYSIS_FAILED after ${MAX_ANALYSIS_ATTEMPTS} uploads`, async () => {
    const cuckoo = await startCuckooEmulator({ tls: leaf, failWith: 'failed_processing' });
    cleanups.push(() => cuckoo.close());
    const job = await judgeEicar([{ url: cuckoo.url, kind: 'cuckoo' }]);
    expect(job).toMatchObject({ state: 'error', error: { code: 'ANALYSIS_FAILED', params: { attempts: MAX_ANALYSIS_ATTEMPTS, status: 'failed_processing' } } });
    expect(cuckoo.counters.uploads).toBe(MAX_ANALYSIS_ATTEMPTS);
    expect(analysisFailures().map((e) => e.attempts)).toEqual([1, 2, 3]);
  });
});
