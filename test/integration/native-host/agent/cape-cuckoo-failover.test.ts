import { describe, expect, it } from 'vitest';
import { useAgentBench } from '#test-helpers/agent-bench.ts';
import { EICAR, sha256, startCapeEmulator } from '#test-helpers/cape-emulator.ts';
import { startCuckooEmulator } from '#test-helpers/cuckoo-emulator.ts';

const CAPE_TOKEN = 'cape-token-must-not-leak-1';
const CUCKOO_TOKEN = 'cuckoo-token-must-not-leak-2';
const bench = useAgentBench('sg-backends-');

describe('agent with CAPEv2 and Cuckoo servers', () => {
  it('moves on from a throttling CAPE to Cuckoo, which judges the download; the object is uploaded exactly once', async () => {
    const transcript: string[] = [];
    const cape = await startCapeEmulator({ tls: bench.leaf(), token: CAPE_TOKEN, throttleAfter: 0, transcript });
    bench.later(() => cape.close());
    const cuckoo = await startCuckooEmulator({ tls: bench.leaf(), token: CUCKOO_TOKEN, transcript });
    bench.later(() => cuckoo.close());
    const agent = await bench.agent(
      {
        servers: [
          { url: cape.url, kind: 'cape', token: CAPE_TOKEN },
          { url: cuckoo.url, kind: 'cuckoo', token: CUCKOO_TOKEN },
        ],
        connectTimeoutMs: 1000,
        analysisTimeoutMs: 20_000,
      },
      { quarantine: false },
    );
    const job = await bench.judge(agent, 'eicar.com', EICAR);

    expect(job.verdict).toMatchObject({ level: 'malicious', threat: 'EICAR-Test-File', server: cuckoo.url, score: 10, analysisId: '1' });
    expect(cape.counters.uploads + cuckoo.counters.uploads).toBe(1);
    expect(cuckoo.uploads[0]!.content.equals(Buffer.from(EICAR))).toBe(true);
    expect(cape.counters.throttled).toBeGreaterThan(0);
    // Health probes (if any run) aside, CAPE was asked first and Cuckoo right after.
    const work = transcript.filter((t) => !t.includes('/cuckoo/status'));
    expect(work[0]).toBe('cape GET /apiv2/tasks/search/sha256/{sha}/');
    expect(work[1]).toBe('cuckoo GET /files/view/sha256/{sha}');

    const events = bench.events();
    const tried = events
      .filter((e) => e.type === 'server-error' || e.type === 'verdict')
      .map((e) => `${e.type} ${e.server} ${e.code ?? ''}`.trim());
    expect(tried).toEqual([`server-error ${cape.url} SERVER_THROTTLED`, `verdict ${cuckoo.url}`]);
    expect(events.find((e) => e.type === 'verdict')).toMatchObject({ sha256: sha256(Buffer.from(EICAR)) });
    const everything = JSON.stringify(events) + JSON.stringify(agent.status());
    expect(everything).not.toContain(CAPE_TOKEN);
    expect(everything).not.toContain(CUCKOO_TOKEN);
  });
});
