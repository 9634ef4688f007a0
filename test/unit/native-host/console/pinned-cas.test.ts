import { describe, expect, it } from 'vitest';
import { makeCa, makeLeaf } from '#test-helpers/pki.ts';
import { checkNewTrust, issuedByOneOf, pinnedFingerprints } from '#native-host/console/pinned-cas.ts';

// What an agent accepts as the console CAs to pin (a renewal answer during a CA rotation, a poll after a retirement).
describe('the console CAs an agent pins', () => {
  const old = makeCa('Console CA old');
  const next = makeCa('Console CA new');
  const stranger = makeCa('Someone else');

  it('moves step by step: old, then old + new, then new alone', () => {
    const both = checkNewTrust(old.cert + next.cert, old.cert);
    expect(pinnedFingerprints(both)).toHaveLength(2);
    expect(pinnedFingerprints(checkNewTrust(next.cert, both))).toEqual(pinnedFingerprints(next.cert));
  });

  it('refuses a set that shares no CA with the pinned one: a console cannot swap trust for a foreign CA', () => {
    expect(() => checkNewTrust(stranger.cert, old.cert)).toThrow(expect.objectContaining({ code: 'CONSOLE_RESPONSE_INVALID' }));
  });

  it('refuses a certificate that is not a CA, and more than four', () => {
    const leaf = makeLeaf(old, { commonName: 'console.example' });
    expect(() => checkNewTrust(old.cert + leaf.cert, old.cert)).toThrow(/not a CA/);
    expect(() => checkNewTrust(old.cert.repeat(5), old.cert)).toThrow(/1 to 4/);
  });

  it('a renewed certificate must come from one of the CAs in the set', () => {
    const fromNext = makeLeaf(next, { commonName: 'agent' });
    expect(issuedByOneOf(fromNext.cert, old.cert + next.cert)).toBe(true);
    expect(issuedByOneOf(fromNext.cert, old.cert)).toBe(false);
    expect(issuedByOneOf(makeLeaf(stranger).cert, old.cert + next.cert)).toBe(false);
  });
});
