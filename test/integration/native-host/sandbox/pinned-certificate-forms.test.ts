import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '#native-host/clock.ts';
import { loadPolicyFile } from '#native-host/config/load-policy.ts';
import { createSandboxClients } from '#native-host/sandbox/create-clients.ts';
import type { SandboxClient } from '#native-host/sandbox/sandbox-client.ts';
import { maliciousVerdict, startLabServer, type LabServer } from '#test-helpers/lab-protocol-server.ts';
import { makeCa, makeIntermediate, makeLeaf, makeSelfSigned, type Pem } from '#test-helpers/pki.ts';
import { useQueuedEicar } from '#test-helpers/queued-eicar.ts';

/**
 * What an administrator may put in `sandbox.serverCertificate` (docs/sandbox-backends.md, "Pinning"): the server's own
 * certificate, self-signed or issued by a CA; the root CA; or an intermediate CA; or several of these in one PEM file.
 * Each is written to a policy file, loaded the way `sandgate serve` loads it, and the clients built from it must get
 * the verdict from a server presenting a real chain made here (root → intermediate → leaf).
 */

const eicar = useQueuedEicar('sg-pin-forms-');
let root: ReturnType<typeof makeCa>;
let intermediate: ReturnType<typeof makeCa>;
let leaf: Pem;
const servers: LabServer[] = [];

beforeAll(() => {
  root = makeCa('Corp Root CA');
  intermediate = makeIntermediate(root, 'Corp Issuing CA 1');
  leaf = makeLeaf(intermediate);
});
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

/** A server with EICAR's verdict, presenting `cert` (a PEM chain: its own certificate first) with `key`. */
async function server(cert: string, key: string): Promise<string> {
  const s = await startLabServer({ tls: { cert, key }, name: 'lab', verdicts: { [eicar.sha256]: maliciousVerdict() } });
  servers.push(s);
  return s.url;
}

/** The clients `sandgate serve` would build from a policy file pinning `pem` (written to its own file). */
async function clientsPinning(pem: string, urls: string[]): Promise<SandboxClient[]> {
  const pinPath = join(eicar.dir(), 'pinned.pem');
  writeFileSync(pinPath, pem);
  const policyPath = join(eicar.dir(), 'policy.json');
  writeFileSync(policyPath, JSON.stringify({ sandbox: { servers: urls.map((url) => ({ url })), serverCertificate: pinPath } }));
  return createSandboxClients(await loadPolicyFile(policyPath), realClock).map((c) => eicar.track(c));
}

const verdictOf = (client: SandboxClient) => eicar.outcome(client);

describe('sandbox.serverCertificate accepts the server certificate, an intermediate CA or a root CA', () => {
  it('the root CA, with the server sending its certificate and the intermediate', async () => {
    const url = await server(leaf.cert + intermediate.cert, leaf.key);
    const [c] = await clientsPinning(root.cert, [url]);
    expect(await verdictOf(c!)).toBe('verdict malicious EICAR-Test-File');
  });

  it('the intermediate CA that issued the server certificate, whether or not the server sends the intermediate too', async () => {
    const bare = await server(leaf.cert, leaf.key);
    const chained = await server(leaf.cert + intermediate.cert, leaf.key);
    const clients = await clientsPinning(intermediate.cert, [bare, chained]);
    expect(await verdictOf(clients[0]!)).toBe('verdict malicious EICAR-Test-File');
    expect(await verdictOf(clients[1]!)).toBe('verdict malicious EICAR-Test-File');
  });

  it("the server's own CA-issued certificate, with neither its CA nor the root given", async () => {
    const bare = await server(leaf.cert, leaf.key);
    const chained = await server(leaf.cert + intermediate.cert, leaf.key);
    const clients = await clientsPinning(leaf.cert, [bare, chained]);
    expect(await verdictOf(clients[0]!)).toBe('verdict malicious EICAR-Test-File');
    expect(await verdictOf(clients[1]!)).toBe('verdict malicious EICAR-Test-File');
  });

  it("the server's own self-signed certificate (what sandgate-lab makes)", async () => {
    const own = makeSelfSigned();
    const url = await server(own.cert, own.key);
    const [c] = await clientsPinning(own.cert, [url]);
    expect(await verdictOf(c!)).toBe('verdict malicious EICAR-Test-File');
  });

  it('a PEM bundle: each server is trusted through whichever certificate in the file vouches for it', async () => {
    const other = makeSelfSigned({ commonName: 'second lab' });
    const unrelatedRoot = makeCa('Some Other Root');
    const viaIntermediate = await server(leaf.cert, leaf.key);
    const viaOwnCert = await server(other.cert, other.key);
    const clients = await clientsPinning([unrelatedRoot.cert, intermediate.cert, other.cert].join('\n'), [viaIntermediate, viaOwnCert]);
    expect(await verdictOf(clients[0]!)).toBe('verdict malicious EICAR-Test-File');
    expect(await verdictOf(clients[1]!)).toBe('verdict malicious EICAR-Test-File');
  });

  it('still verifies the name: a pinned server certificate at an address it does not name is TLS_HOSTNAME_MISMATCH', async () => {
    const localhostOnly = makeLeaf(intermediate, { hosts: ['localhost'] });
    const url = await server(localhostOnly.cert, localhostOnly.key);
    const [c] = await clientsPinning(localhostOnly.cert, [url]);
    expect(await verdictOf(c!)).toBe('TLS_HOSTNAME_MISMATCH');
  });
});
