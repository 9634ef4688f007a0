import { describe, expect, it } from 'vitest';
import type { Job, PolicyInput } from '@sandgate/shared';
import { MAX_ANALYSIS_ATTEMPTS } from '#native-host/sandbox/retry-policy.ts';
import { useAgentBench } from '#test-helpers/agent-bench.ts';
import { EICAR, sha256, startCapeEmulator } from '#test-helpers/cape-emulator.ts';
import { startCuckooEmulator } from '#test-helpers/cuckoo-emulator.ts';
import { maliciousVerdict, startLabServer } from '#test-helpers/lab-protocol-server.ts';

/**
 * A sandbox that could not analyse an object (a crashed guest, a processing error) is asked again: the agent uploads
 * the object afresh, both when its own upload's analysis failed and when the look-up by hash finds an analysis that
 * failed earlier. At most MAX_ANALYSIS_ATTEMPTS analyses may fail per job; then the job ends ANALYSIS_FAILED and the
 * event log says how many were made. Uploads are counted by the servers, not taken from the agent's word.
 */

const EICAR_SHA = sha256(Buffer.from(EICAR));
const bench = useAgentBench('sg-failed-analysis-');

async function judgeEicar(servers: PolicyInput['sandbox']['servers']): Promise<Job> {
  const agent = await bench.agent({ servers, analysisTimeoutMs: 20_000 }, { quarantine: false });
  return bench.judge(agent, 'eicar.com', EICAR);
}

const analysisFailures = () => bench.events().filter((e) => e.type === 'server-error' && e.code === 'ANALYSIS_FAILED');

describe('a failed analysis leads to a fresh upload, within a bound', () => {
  it('sandgate lab: two failed analyses, then the third upload is judged; each failure is an event saying it will upload again', async () => {
    const lab = await startLabServer({ tls: bench.leaf(), name: 'lab', failAnalyses: 2, verdicts: { [EICAR_SHA]: maliciousVerdict() } });
    bench.later(() => lab.close());
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
    const lab = await startLabServer({ tls: bench.leaf(), name: 'lab', failAnalyses: 100 });
    bench.later(() => lab.close());
    const job = await judgeEicar([{ url: lab.url }]);
    expect(job).toMatchObject({
      state: 'error',
      error: { code: 'ANALYSIS_FAILED', params: { attempts: MAX_ANALYSIS_ATTEMPTS, maxAttempts: MAX_ANALYSIS_ATTEMPTS } },
    });
    expect(job.error!.message).toMatch(/3 of at most 3 analyses failed, giving up/);
    expect(lab.uploads).toHaveLength(MAX_ANALYSIS_ATTEMPTS);
    expect(analysisFailures().map((e) => e.attempts)).toEqual([1, 2, 3]);
    expect(analysisFailures().at(-1)!.message).toMatch(/giving up/);
  });

  it('sandgate lab: a look-up that finds an analysis which failed earlier uploads the object again instead of ending the job', async () => {
    const lab = await startLabServer({
      tls: bench.leaf(),
      name: 'lab',
      knownFailed: [EICAR_SHA],
      verdicts: { [EICAR_SHA]: maliciousVerdict() },
    });
    bench.later(() => lab.close());
    const job = await judgeEicar([{ url: lab.url }]);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious' } });
    expect(lab.uploads).toHaveLength(1);
    expect(lab.transcript.slice(0, 2)).toEqual(['lab GET /api/v1/files/{sha}', 'lab POST /api/v1/submissions']);
    expect(analysisFailures()).toEqual([]);
  });

  it('CAPE: a task that ended failed_analysis is followed by a new task, which is reported', async () => {
    const cape = await startCapeEmulator({ tls: bench.leaf(), failWith: 'failed_analysis', failFirst: 1 });
    bench.later(() => cape.close());
    const job = await judgeEicar([{ url: cape.url, kind: 'cape' }]);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious', threat: 'EICAR-Test-File', analysisId: '2' } });
    expect(cape.counters.uploads).toBe(2);
    expect(analysisFailures().map((e) => e.attempts)).toEqual([1]);
  });

  it('CAPE: a file whose earlier task failed is uploaded again rather than judged by that task', async () => {
    const cape = await startCapeEmulator({ tls: bench.leaf(), knownFailed: [Buffer.from(EICAR)] });
    bench.later(() => cape.close());
    const job = await judgeEicar([{ url: cape.url, kind: 'cape' }]);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious', analysisId: '2' } });
    expect(cape.counters.uploads).toBe(1);
  });

  it(`Cuckoo: every task ends failed_processing, so the job ends ANALYSIS_FAILED after ${MAX_ANALYSIS_ATTEMPTS} uploads`, async () => {
    const cuckoo = await startCuckooEmulator({ tls: bench.leaf(), failWith: 'failed_processing' });
    bench.later(() => cuckoo.close());
    const job = await judgeEicar([{ url: cuckoo.url, kind: 'cuckoo' }]);
    expect(job).toMatchObject({
      state: 'error',
      error: { code: 'ANALYSIS_FAILED', params: { attempts: MAX_ANALYSIS_ATTEMPTS, status: 'failed_processing' } },
    });
    expect(cuckoo.counters.uploads).toBe(MAX_ANALYSIS_ATTEMPTS);
    expect(analysisFailures().map((e) => e.attempts)).toEqual([1, 2, 3]);
  });
});
