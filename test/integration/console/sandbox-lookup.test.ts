import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConsoleConfig } from '#console/config/load-console-config.ts';
import { lookUpHash } from '#console/witness/sandbox-lookup.ts';
import { maliciousVerdict, startLabServer, type LabServer } from '#test-helpers/lab-protocol-server.ts';
import { makeCa, makeLeaf, toPfx } from '#test-helpers/pki.ts';

const BAD = 'b'.repeat(64);
const UNKNOWN = 'c'.repeat(64);
const TOKEN = 'console-lookup-token';

// The console's own sandbox look-up (a group task's second witness) against real TLS servers on loopback: the pinned
// certificate, a bearer token and a client certificate, as a sandbox that authenticates its clients asks for them.
describe("the console's hash look-up on its own sandbox servers", () => {
  let dir: string;
  let serverCa: ReturnType<typeof makeCa>;
  let strict: LabServer;
  let down: LabServer;

  /** Writes console.json (0600) and loads it the way `serve` does. */
  const load = (sandbox: Record<string, unknown>) => {
    const file = join(dir, `console-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      file,
      JSON.stringify({ witness: { sandbox: { serverCertificate: join(dir, 'server-ca.pem'), timeoutMs: 5000, ...sandbox } } }),
    );
    chmodSync(file, 0o600);
    return loadConsoleConfig(file, dir);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandgate-lookup-'));
    serverCa = makeCa('Sandbox CA');
    const clientCa = makeCa('Console client CA');
    const client = makeLeaf(clientCa, { client: true, commonName: 'sandgate-console' });
    writeFileSync(join(dir, 'server-ca.pem'), serverCa.cert);
    writeFileSync(join(dir, 'client.pfx'), toPfx(client, 'pfx-pass'));
    writeFileSync(join(dir, 'client-cert.pem'), client.cert);
    writeFileSync(join(dir, 'client-key.pem'), client.key);
    strict = await startLabServer({
      tls: makeLeaf(serverCa),
      name: 'strict',
      clientCa: clientCa.cert,
      token: TOKEN,
      known: [BAD],
      verdicts: { [BAD]: maliciousVerdict() },
    });
    down = await startLabServer({ tls: makeLeaf(serverCa), name: 'down', failWith: 503 });
  }, 60_000);

  afterAll(async () => {
    await strict?.close();
    await down?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('presents the token and the client certificate, and believes a malicious verdict for the hash it asked about', async () => {
    for (const clientCertificate of [
      { pfx: 'client.pfx', passphrase: 'pfx-pass' },
      { cert: 'client-cert.pem', key: 'client-key.pem' },
    ]) {
      const c = load({ servers: [{ url: strict.url, token: TOKEN }], clientCertificate });
      expect(await lookUpHash(c.sandbox!, BAD)).toEqual({ server: strict.url, outcome: 'malicious', threat: 'EICAR-Test-File' });
      expect(await lookUpHash(c.sandbox!, UNKNOWN)).toEqual({ server: strict.url, outcome: 'not-found' });
    }
  });

  it('is refused without the token or the client certificate, and asks the next server when one fails', async () => {
    const noToken = load({ servers: [{ url: strict.url }], clientCertificate: { pfx: 'client.pfx', passphrase: 'pfx-pass' } });
    expect(await lookUpHash(noToken.sandbox!, BAD)).toMatchObject({ outcome: 'failed', code: 'SERVER_AUTH_FAILED' });
    const noCert = load({ servers: [{ url: strict.url, token: TOKEN }] });
    expect(await lookUpHash(noCert.sandbox!, BAD)).toMatchObject({ outcome: 'failed' });
    const both = load({
      servers: [{ url: down.url }, { url: strict.url, token: TOKEN }],
      clientCertificate: { pfx: 'client.pfx', passphrase: 'pfx-pass' },
    });
    expect(await lookUpHash(both.sandbox!, BAD)).toMatchObject({ server: strict.url, outcome: 'malicious' });
  });

  it('trusts nothing but the pinned certificate', async () => {
    writeFileSync(join(dir, 'other-ca.pem'), makeCa('Someone else').cert);
    const c = load({
      servers: [{ url: strict.url, token: TOKEN }],
      serverCertificate: join(dir, 'other-ca.pem'),
      clientCertificate: { pfx: 'client.pfx', passphrase: 'pfx-pass' },
    });
    expect(await lookUpHash(c.sandbox!, BAD)).toMatchObject({ outcome: 'failed', code: 'TLS_CERTIFICATE_REJECTED' });
  });

  it('refuses a configuration it cannot use at start, with CONSOLE_CONFIG_INVALID', () => {
    expect(() => load({ servers: [{ url: strict.url }], clientCertificate: { pfx: 'client.pfx', passphrase: 'wrong' } })).toThrow(
      expect.objectContaining({ code: 'CONSOLE_CONFIG_INVALID', message: expect.stringContaining('wrong passphrase') }),
    );
    expect(() => load({ servers: [{ url: 'https://cape.corp.example', kind: 'cape', token: 't' }] })).toThrow(
      expect.objectContaining({
        code: 'CONSOLE_CONFIG_INVALID',
        message: expect.stringContaining('CAPE and Cuckoo look-ups are not supported yet'),
      }),
    );
    expect(() => load({ servers: [{ url: strict.url }], serverCertificate: join(dir, 'missing.pem') })).toThrow(
      expect.objectContaining({ code: 'CONSOLE_CONFIG_INVALID' }),
    );
  });
});
