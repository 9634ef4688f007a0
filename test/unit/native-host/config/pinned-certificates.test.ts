import { describe, expect, it } from 'vitest';
import { describePinned } from '#native-host/config/pinned-certificates.ts';
import { makeCa, makeIntermediate, makeLeaf, makeSelfSigned } from '#test-helpers/pki.ts';

describe('what doctor says each pinned certificate is', () => {
  it('tells a root CA, an intermediate CA, a CA-issued and a self-signed server certificate apart, in file order', () => {
    const root = makeCa('Corp Root CA');
    const intermediate = makeIntermediate(root, 'Corp Issuing CA 1');
    const bundle = [
      root.cert,
      intermediate.cert,
      makeLeaf(intermediate, { commonName: 'sandbox1' }).cert,
      makeSelfSigned({ commonName: 'lab' }).cert,
    ].join('\n');
    expect(describePinned(bundle).map((c) => `${c.role}: ${c.subject}`)).toEqual([
      'root CA: CN=Corp Root CA',
      'intermediate CA: CN=Corp Issuing CA 1',
      'server certificate (CA-issued): CN=sandbox1',
      'server certificate (self-signed): CN=lab',
    ]);
  });
});
