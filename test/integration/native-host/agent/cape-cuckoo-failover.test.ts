import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { policySchema, type AgentEvent, type Job } from '@sandgate/shared';
import { createAgent, type Agent } from '../../../../native-host/src/agent/agent.ts';
import { realClock, type Clock } from '../../../../native-host/src/clock.ts';
import { sandgatePaths } from '../../../../native-host/src/config/paths.ts';
import { EventLog } from '../../../../native-host/src/events/event-log.ts';
import { EICAR, sha256, startCapeEmulator } from '../../../helpers/cape-emulator.ts';
import { startCuckooEmulator } from '../../../helpers/cuckoo-emulator.ts';
import { makeCa, makeLeaf, type Pem } from '../../../helpers/pki.ts';

const CAPE_TOKEN = 'cape-token-must-not-leak-1';
const CUCKOO_TOKEN = 'cuckoo-token-must-not-leak-2';
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
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-backends-')));
  home = join(root, 'home');
  mkdirSync(join(root, 'Downloads'), { recursive: true });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

/** Real time, but every pause (polling, rounds) is cut short so the scenario runs in well under a second. */
const quick: Clock = { ...realClock, sleep: (ms, signal) => realClock.sleep(Math.min(ms, 20), signal) };

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agent with CAPEv2 and Cuckoo servers', () => {
  it('moves on from a throttling CAPE to Cuckoo, which judges the download; the object is uploaded exactly once', async () => {
    const transcript: string[] = [];
    const cape = await startCapeEmulator({ tls: leaf, token: CAPE_TOKEN, throttleAfter: 0, transcript });
    cleanups.push(() => cape.close());
    const cuckoo = await startCuckooEmulator({ tls: leaf, token: CUCKOO_TOKEN, transcript });
    cleanups.push(() => cuckoo.close());
    const policy = policySchema.parse({
      sandbox: {
        servers: [
          { url: cape.url, kind: 'cape', token: CAPE_TOKEN },
          { url: cuckoo.url, kind: 'cuckoo', token: CUCKOO_TOKEN },
        ],
        serverCertificate: ca.cert,
        connectTimeoutMs: 1000,
        analysisTimeoutMs: 20_000,
      },
      response: { quarantine: false },
    });
    const agent: Agent = await createAgent({ home, loaded: { policy, path: join(root, 'policy.json'), serverCa: ca.cert }, appVersion: '0.1.0-test', clock: quick });
    cleanups.push(() => agent.close());

    const path = join(root, 'Downloads', 'eicar.com');
    writeFileSync(path, EICAR);
    const { jobId } = await agent.submit(path, { source: 'browser', browser: 'chromium', url: 'https://example.org/eicar.com' });
    const job = await until<Job>(() => {
      const j = agent.getJob(jobId);
      return j && (j.state === 'done' || j.state === 'error') ? j : undefined;
    });

    expect(job.verdict).toMatchObject({ level: 'malicious', threat: 'EICAR-Test-File', server: cuckoo.url, score: 10, analysisId: '1' });
    expect(cape.counters.uploads + cuckoo.counters.uploads).toBe(1);
    expect(cuckoo.uploads[0]!.content.equals(Buffer.from(EICAR))).toBe(true);
    expect(cape.counters.throttled).toBeGreaterThan(0);
    // Health probes (if any run) aside, CAPE was asked first and Cuckoo right after.
    const work = transcript.filter((t) => !t.includes('/cuckoo/status'));
    expect(work[0]).toBe('cape GET /apiv2/tasks/search/sha256/{sha}/');
    expect(work[1]).toBe('cuckoo GET /files/view/sha256/{sha}');

    const events = new EventLog(sandgatePaths(home).events).read().events as AgentEvent[];
    const tried = events.filter((e) => e.type === 'server-error' || e.type === 'verdict').map((e) => `${e.type} ${e.server} ${e.code ?? ''}`.trim());
    expect(tried).toEqual([`server-error ${cape.url} SERVER_THROTTLED`, `verdict ${cuckoo.url}`]);
    expect(events.find((e) => e.type === 'verdict')).toMatchObject({ sha256: sha256(Buffer.from(EICAR)) });
    const everything = JSON.stringify(events) + JSON.stringify(agent.status());
    expect(everything).not.toContain(CAPE_TOKEN);
    expect(everything).not.toContain(CUCKOO_TOKEN);
  });
});
