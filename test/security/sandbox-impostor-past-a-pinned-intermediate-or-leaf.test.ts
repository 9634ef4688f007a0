import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLabServer, type LabServer } from '#test-helpers/lab-protocol-server.ts';
import { makeCa, makeIntermediate, makeLeaf, type Pem } from '#test-helpers/pki.ts';
import { useQueuedEicar } from '#test-helpers/queued-eicar.ts';

/**
 * Actor: a network attacker between the agent and its sandbox server, now that `sandbox.serverCertificate` may pin
 * an intermediate CA or the server's own CA-issued certificate (trust anchors that are not self-signed). Making them
 * anchors must not loosen anything else: a pinned server certificate is that one certificate, not "anything its CA
 * issued"; below a pinned CA every signature, validity date and purpose is still checked. Each impostor here presents
 * a certificate for exactly the right names, and each is refused before a single request reaches it, with the code an
 * administrator can act on.
 */

const eicar = useQueuedEicar('sg-impostor-pin-');
const day = 86_400_000;
let root: ReturnType<typeof makeCa>;
let intermediate: ReturnType<typeof makeCa>;
let serverLeaf: Pem;
const servers: LabServer[] = [];

beforeAll(() => {
  root = makeCa('Corp Root CA');
  intermediate = makeIntermediate(root, 'Corp Issuing CA 1');
  serverLeaf = makeLeaf(intermediate);
});
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

/** An impostor speaking the protocol perfectly (it would call everything clean), presenting `chain` (leaf first). */
async function impostor(chain: string[], key: string): Promise<LabServer> {
  const s = await startLabServer({ tls: { cert: chain.join(''), key }, name: 'impostor' });
  servers.push(s);
  return s;
}

/** The agent pinning `pin`, asked to judge EICAR at `url`: the verdict it would act on, or the refusal's code. */
const outcome = (pin: string, url: string) => eicar.outcome(eicar.labClient(url, pin));

describe('an impostor facing a pinned intermediate CA', () => {
  it('is refused with a certificate for the right names from another CA whose intermediate has the same name', async () => {
    const lookalike = makeIntermediate(makeCa('Corp Root CA'), 'Corp Issuing CA 1');
    const forged = makeLeaf(lookalike);
    const s = await impostor([forged.cert, lookalike.cert], forged.key);
    expect(await outcome(intermediate.cert, s.url)).toBe('TLS_CERTIFICATE_REJECTED');
    expect(s.transcript).toEqual([]);
  });

  it('is refused with an expired certificate for the right names that the pinned intermediate really issued', async () => {
    const stale = makeLeaf(intermediate, { notBefore: new Date(Date.now() - 400 * day), notAfter: new Date(Date.now() - day) });
    const s = await impostor([stale.cert, intermediate.cert], stale.key);
    expect(await outcome(intermediate.cert, s.url)).toBe('TLS_CERTIFICATE_EXPIRED');
    expect(s.transcript).toEqual([]);
  });

  it("is refused with a client certificate the pinned intermediate issued for the server's names (e.g. an enrolled workstation's)", async () => {
    const clientCert = makeLeaf(intermediate, { client: true });
    const s = await impostor([clientCert.cert, intermediate.cert], clientCert.key);
    expect(await outcome(intermediate.cert, s.url)).toBe('TLS_CERTIFICATE_REJECTED');
    expect(s.transcript).toEqual([]);
  });

  it('is refused with a certificate for the right names from the root above it, which was not pinned', async () => {
    const sibling = makeIntermediate(root, 'Corp Issuing CA 2');
    const fromSibling = makeLeaf(sibling);
    const s = await impostor([fromSibling.cert, sibling.cert], fromSibling.key);
    expect(await outcome(intermediate.cert, s.url)).toBe('TLS_CERTIFICATE_REJECTED');
    expect(s.transcript).toEqual([]);
  });
});

describe("an impostor facing the server's own pinned CA-issued certificate", () => {
  it('is refused with another certificate the same CA issued for the same names', async () => {
    const twin = makeLeaf(intermediate);
    const s = await impostor([twin.cert, intermediate.cert], twin.key);
    expect(await outcome(serverLeaf.cert, s.url)).toBe('TLS_CERTIFICATE_REJECTED');
    expect(s.transcript).toEqual([]);
  });

  it('is refused with a certificate for the same names and subject from another CA', async () => {
    const other = makeIntermediate(makeCa('Elsewhere Root'), 'Elsewhere CA');
    const forged = makeLeaf(other);
    const s = await impostor([forged.cert, other.cert], forged.key);
    expect(await outcome(serverLeaf.cert, s.url)).toBe('TLS_CERTIFICATE_REJECTED');
    expect(s.transcript).toEqual([]);
  });
});

describe('an impostor facing a pinned root CA', () => {
  it('is refused with a certificate for the right names from a CA that is not pinned', async () => {
    const unpinned = makeCa('Public-looking CA');
    const forged = makeLeaf(unpinned);
    const s = await impostor([forged.cert], forged.key);
    expect(await outcome(root.cert, s.url)).toBe('TLS_CERTIFICATE_REJECTED');
    expect(s.transcript).toEqual([]);
  });
});

describe('the rightful server', () => {
  it('is accepted under each of those pins', async () => {
    const s = await impostor([serverLeaf.cert, intermediate.cert], serverLeaf.key);
    for (const pin of [intermediate.cert, serverLeaf.cert, root.cert]) expect(await outcome(pin, s.url)).toBe('verdict clean');
  });
});
