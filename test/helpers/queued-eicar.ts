import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { policySchema } from '@sandgate/shared';
import { realClock } from '#native-host/clock.ts';
import { createServerAgent } from '#native-host/sandbox/https-call.ts';
import { LabClient } from '#native-host/sandbox/lab-client.ts';
import { bytesBody } from '#native-host/queue/object-body.ts';
import type { QueuedObject, SandboxClient } from '#native-host/sandbox/sandbox-client.ts';

/**
 * EICAR as the queue hands it to a sandbox client, for tests that ask one client about one object and care about what
 * the client made of the server: the verdict it would act on, or the code it refused with. Registers its own hooks:
 * a folder for the test file's own files (removed after its tests) and the clients made (closed after each test).
 */
export function useQueuedEicar(prefix: string) {
  const content = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*');
  const sha256 = createHash('sha256').update(content).digest('hex');
  let dir = '';
  const clients: SandboxClient[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const object = (): QueuedObject => ({ sha256, body: bytesBody(content) });
  return {
    sha256,
    /** A folder of this file's own, for policy and certificate files. */
    dir: () => dir,
    /** Closes `client` after the test. */
    track<T extends SandboxClient>(client: T): T {
      clients.push(client);
      return client;
    },
    /** A sandgate-protocol client for `url` pinning `pin` (PEM text), as `sandgate serve` builds it. */
    labClient(url: string, pin: string): LabClient {
      const server = policySchema.parse({ sandbox: { servers: [{ url }], serverCertificate: 'x' } }).sandbox.servers[0]!;
      return this.track(
        new LabClient(server, {
          agent: createServerAgent({ serverCa: pin }),
          connectTimeoutMs: 2000,
          analysisTimeoutMs: 10_000,
          clock: realClock,
        }),
      );
    },
    /** `verdict <level> [threat]` when `client` judged EICAR, else the code it failed with. */
    async outcome(client: SandboxClient): Promise<string> {
      try {
        const v = await client.analyse(object(), new AbortController().signal);
        return `verdict ${v.level}${v.threat ? ` ${v.threat}` : ''}`;
      } catch (err) {
        return (err as { code?: string }).code ?? String(err);
      }
    },
  };
}
