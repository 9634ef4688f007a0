import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLabServer, type LabServer } from '#test-helpers/lab-protocol-server.ts';
import { makeCa, makeLeaf, type Pem } from '#test-helpers/pki.ts';
import { useQueuedEicar } from '#test-helpers/queued-eicar.ts';

/**
 * Actor: a network attacker between the agent and its sandbox server who holds a genuine certificate from the pinned
 * CA, issued for some other machine (another server of the same organisation, a workstation, a test box). Placed on
 * the path to the server the policy names, it must not be taken for that server: it would receive every download and
 * could answer "clean" for malware. What names a server is the subjectAltName for the exact address or DNS name in the
 * policy URL; the common name never does (RFC 9525), and an address is never matched against a DNS name or vice versa.
 * Every attempt below ends TLS_HOSTNAME_MISMATCH before a single request reaches the impostor.
 */

const eicar = useQueuedEicar('sg-impostor-name-');
let ca: ReturnType<typeof makeCa>;
const servers: LabServer[] = [];

beforeAll(() => {
  ca = makeCa('Organisation CA');
});
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

/** The impostor: a protocol-perfect server (it would judge everything clean) presenting `tls` on `host`. */
async function impostor(tls: Pem, host: '127.0.0.1' | '::1'): Promise<LabServer> {
  const s = await startLabServer({ tls, name: 'impostor', host });
  servers.push(s);
  return s;
}

/** The agent's client for `url`, pinning the organisation's CA, asked to judge EICAR. */
const outcome = (url: string) => eicar.outcome(eicar.labClient(url, ca.cert));

describe('an impostor with a certificate from the pinned CA for another host', () => {
  it('cannot pose as the server at https://[::1] with a certificate for another IPv6 address (and IPv4 loopback, and localhost)', async () => {
    const s = await impostor(makeLeaf(ca, { hosts: ['::2', '127.0.0.1', 'localhost'] }), '::1');
    expect(await outcome(s.url)).toBe('TLS_HOSTNAME_MISMATCH');
    expect(s.transcript).toEqual([]);
  });

  it('cannot pose as the server at https://[::1] with a certificate whose common name reads ::1 but which names no address', async () => {
    const s = await impostor(makeLeaf(ca, { hosts: [], commonName: '::1' }), '::1');
    expect(await outcome(s.url)).toBe('TLS_HOSTNAME_MISMATCH');
    expect(s.transcript).toEqual([]);
  });

  it('cannot pose as the server at https://[::1] with a certificate naming "::1" as a DNS name', async () => {
    const s = await impostor(makeLeaf(ca, { hosts: [], dnsNames: ['::1'] }), '::1');
    expect(await outcome(s.url)).toBe('TLS_HOSTNAME_MISMATCH');
    expect(s.transcript).toEqual([]);
  });

  it('cannot pose as the server at https://localhost with a certificate naming only the address it listens on', async () => {
    const s = await impostor(makeLeaf(ca, { hosts: ['127.0.0.1', '::1'], commonName: 'localhost' }), '127.0.0.1');
    expect(await outcome(s.url.replace('127.0.0.1', 'localhost'))).toBe('TLS_HOSTNAME_MISMATCH');
    expect(s.transcript).toEqual([]);
  });

  it('cannot pose as the server at https://localhost with a certificate naming localhost by common name only', async () => {
    const s = await impostor(makeLeaf(ca, { hosts: [], commonName: 'localhost' }), '127.0.0.1');
    expect(await outcome(s.url.replace('127.0.0.1', 'localhost'))).toBe('TLS_HOSTNAME_MISMATCH');
    expect(s.transcript).toEqual([]);
  });

  it('cannot pose as the server at https://127.0.0.1 with a certificate naming 127.0.0.1 by common name only', async () => {
    const s = await impostor(makeLeaf(ca, { hosts: [], commonName: '127.0.0.1' }), '127.0.0.1');
    expect(await outcome(s.url)).toBe('TLS_HOSTNAME_MISMATCH');
    expect(s.transcript).toEqual([]);
  });

  it('while the rightful server, with a certificate naming its address, is accepted at the same URLs', async () => {
    const v6 = await impostor(makeLeaf(ca, { hosts: ['::1'] }), '::1');
    expect(await outcome(v6.url)).toBe('verdict clean');
    const byName = await impostor(makeLeaf(ca, { hosts: ['localhost'] }), '127.0.0.1');
    expect(await outcome(byName.url.replace('127.0.0.1', 'localhost'))).toBe('verdict clean');
  });
});
