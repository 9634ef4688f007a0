import { describe, expect, it } from 'vitest';
import { SandgateError } from '@sandgate/shared';
import { silentLogger } from '#native-host/log.ts';
import { pollFor } from '#test-helpers/stack.ts';
import { ConsoleEndpoints } from '#native-host/console/console-endpoints.ts';

const A = 'https://console-a.corp.example:8444';
const B = 'https://console-b.corp.example:8444';
const ENROLLED = 'https://console.corp.example:8444';

const hrefs = (e: ConsoleEndpoints) => e.order().map((u) => u.origin);

describe('console URLs and their health', () => {
  it('uses the enrollment URL alone without a policy list, and after the list when it is not in it', () => {
    const alone = new ConsoleEndpoints({ enrollmentUrl: ENROLLED, probe: async () => {}, log: silentLogger });
    expect(hrefs(alone)).toEqual([ENROLLED]);
    const listed = new ConsoleEndpoints({ enrollmentUrl: ENROLLED, policyUrls: [A, B], probe: async () => {}, log: silentLogger });
    expect(hrefs(listed)).toEqual([A, B, ENROLLED]);
    const within = new ConsoleEndpoints({ enrollmentUrl: `${B}/`, policyUrls: [A, B], probe: async () => {}, log: silentLogger });
    expect(hrefs(within)).toEqual([A, B]);
  });

  it('passes a URL that failed to connect over until its probe reaches it, then prefers it again', async () => {
    let up = false;
    const e = new ConsoleEndpoints({
      enrollmentUrl: A,
      policyUrls: [A, B],
      probe: async () => {
        if (!up) throw new SandgateError('CONSOLE_UNREACHABLE', 'still down');
      },
      log: silentLogger,
      probeBaseMs: 10,
      probeMaxMs: 20,
    });
    e.failed(new URL(A), new SandgateError('CONSOLE_UNREACHABLE', 'refused'));
    expect(hrefs(e)).toEqual([B, A]);
    expect(e.snapshot()[0]).toMatchObject({ url: A, kind: 'console', state: 'failing', skippedUntilProbe: true });
    up = true;
    await pollFor('A probed healthy', () => (hrefs(e)[0] === A ? true : undefined), 5_000);
    expect(e.snapshot()[0]).toMatchObject({ url: A, state: 'healthy' });
    e.close();
  });

  it("does not pass a URL over for the console's own answers (revoked, rate limited): every process gives the same", () => {
    const e = new ConsoleEndpoints({ enrollmentUrl: A, policyUrls: [A, B], probe: async () => {}, log: silentLogger });
    e.failed(new URL(A), new SandgateError('AGENT_REVOKED'));
    e.failed(new URL(A), new SandgateError('CONSOLE_AGENT_RATE_LIMITED'));
    expect(hrefs(e)).toEqual([A, B]);
    e.close();
  });

  it('keeps what it knows of a URL when the policy list changes around it', () => {
    const e = new ConsoleEndpoints({
      enrollmentUrl: A,
      policyUrls: [A, B],
      probe: () => new Promise(() => {}),
      log: silentLogger,
      probeBaseMs: 60_000,
    });
    e.failed(new URL(A), new SandgateError('CONSOLE_UNREACHABLE', 'refused'));
    e.setPolicyUrls([B, A]);
    expect(hrefs(e)).toEqual([B, A]);
    expect(e.snapshot().find((h) => h.url === A)).toMatchObject({ skippedUntilProbe: true });
    e.close();
  });
});
