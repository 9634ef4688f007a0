import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publisherExemption, type PublisherRule } from '#native-host/publisher/publisher-match.ts';
import { readFileSignature } from '#native-host/publisher/authenticode-file.ts';
import {
  addUnauthenticatedBlob,
  certSha256,
  certificateWithRsaKey,
  codeSigningIdentity,
  der,
  derAttribute,
  issuedByLeaf,
  nestSignature,
  requireOsslsigncode,
  rewriteSignedData,
  selfSignedIdentity,
  signPe,
  timestamp,
  timestampingIdentity,
  type SigningIdentity,
} from '#test-helpers/code-signing.ts';
import { PE_CODE_OFFSET, makePeFile } from '#test-helpers/pe-file.ts';
import { makeCa, makeLeaf } from '#test-helpers/pki.ts';

const CONTOSO = 'Contoso Ltd';
/** The Certificate Table entry of the data directory in a PE32 made by makePeFile. */
const CERT_DIR_ENTRY = 0x40 + 24 + 96 + 4 * 8;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const OID_NESTED_SIGNATURE = '1.3.6.1.4.1.311.2.4.1';

let dir: string;
/** Contoso's certificate from the test CA, through its "Code Signing PCA" (embedded; the root is not). */
let contoso: SigningIdentity;
/** The same CA issuing Contoso's certificate directly, the root embedded in the signature. */
let contosoDirect: SigningIdentity;
let fabrikam: SigningIdentity;
let pinPca: PublisherRule;

beforeAll(() => {
  requireOsslsigncode();
  dir = mkdtempSync(join(tmpdir(), 'sandgate-publisher-'));
  const root = makeCa('Sandgate Test Root');
  contoso = codeSigningIdentity(root, { organization: CONTOSO, commonName: 'Contoso Code Signing' }, { intermediate: true });
  contosoDirect = codeSigningIdentity(root, { organization: CONTOSO, commonName: 'Contoso Code Signing' }, { embedRoot: true });
  fabrikam = codeSigningIdentity(root, { organization: 'Fabrikam Inc', commonName: 'Fabrikam' }, { intermediate: true });
  pinPca = { name: CONTOSO, caSha256: [contoso.intermediateSha256!] };
}, 120_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function put(bytes: Buffer, name = `f${n++}.exe`): { path: string; sha256: string } {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, sha256: sha256(bytes) };
}

describe('never quarantine by publisher', () => {
  it('exempts a PE file signed (SHA-256) by the publisher through the pinned Code Signing PCA', async () => {
    const file = put(signPe(makePeFile(), contoso, 'sha256'));
    expect(await publisherExemption(file, [pinPca])).toEqual({ exempt: true, publisher: CONTOSO });
  });

  it('exempts a PE32+ file signed with a SHA-1 digest the same way', async () => {
    const file = put(signPe(makePeFile({ pe32plus: true }), contoso, 'sha1'));
    expect(await publisherExemption(file, [pinPca])).toEqual({ exempt: true, publisher: CONTOSO });
  });

  it('accepts a pin on the root when the signature carries it, or on the signing certificate itself', async () => {
    const direct = put(signPe(makePeFile(), contosoDirect));
    expect(await publisherExemption(direct, [{ name: CONTOSO, caSha256: [contosoDirect.rootSha256] }])).toMatchObject({ exempt: true });
    const viaPca = put(signPe(makePeFile(), contoso));
    expect(await publisherExemption(viaPca, [{ name: CONTOSO, caSha256: [contoso.leafSha256] }])).toMatchObject({ exempt: true });
  });

  it('does not reach a root the signature does not carry: pin the intermediate the signatures embed', async () => {
    const file = put(signPe(makePeFile(), contoso));
    expect(await publisherExemption(file, [{ name: CONTOSO, caSha256: [contoso.rootSha256] }])).toEqual({
      exempt: false,
      reason: 'signed in the name of "Contoso Ltd", but not through a pinned certificate',
    });
  });

  it('compares the name without regard to case, and otherwise exactly', async () => {
    const file = put(signPe(makePeFile(), contoso));
    expect(await publisherExemption(file, [{ ...pinPca, name: 'CONTOSO LTD' }])).toMatchObject({ exempt: true });
    expect(await publisherExemption(file, [{ ...pinPca, name: 'Contoso' }])).toEqual({
      exempt: false,
      reason: 'signed by "Contoso Ltd", a publisher not on the list',
    });
    expect(await publisherExemption(file, [{ ...pinPca, name: 'Contoso Ltd ' }])).toMatchObject({ exempt: false });
  });

  it('names the publisher by its CN when the certificate has no O', async () => {
    const root = makeCa('Another Test Root');
    const person = codeSigningIdentity(root, { commonName: 'Ada Lovelace' }, { intermediate: true });
    const file = put(signPe(makePeFile(), person));
    expect(await publisherExemption(file, [{ name: 'ada lovelace', caSha256: [person.intermediateSha256!] }])).toEqual({
      exempt: true,
      publisher: 'ada lovelace',
    });
  });

  it('refuses another publisher from the same pinned CA', async () => {
    const file = put(signPe(makePeFile(), fabrikam));
    expect(await publisherExemption(file, [{ name: CONTOSO, caSha256: [fabrikam.intermediateSha256!] }])).toEqual({
      exempt: false,
      reason: 'signed by "Fabrikam Inc", a publisher not on the list',
    });
  });

  it('refuses "Contoso Ltd" self-signed, or signed through a CA nobody pinned', async () => {
    const selfSigned = put(signPe(makePeFile(), selfSignedIdentity(CONTOSO)));
    expect(await publisherExemption(selfSigned, [pinPca])).toMatchObject({
      exempt: false,
      reason: expect.stringContaining('not through a pinned certificate'),
    });
    const otherCa = codeSigningIdentity(
      makeCa('Mallory Root'),
      { organization: CONTOSO, commonName: 'Contoso' },
      { intermediate: true, embedRoot: true },
    );
    const unpinned = put(signPe(makePeFile(), otherCa));
    expect(await publisherExemption(unpinned, [pinPca])).toMatchObject({
      exempt: false,
      reason: expect.stringContaining('not through a pinned certificate'),
    });
  });

  it('refuses a forged chain that names, and even embeds, the genuine pinned PCA', async () => {
    // Mallory's own "Sandgate Test Code Signing PCA" has the same subject as the real one; the real one is public.
    const mallory = codeSigningIdentity(
      makeCa('Sandgate Test Root'),
      { organization: CONTOSO, commonName: 'Contoso Code Signing' },
      { intermediate: true },
    );
    const forged: SigningIdentity = { ...mallory, chainPem: mallory.chainPem + contoso.intermediatePem! };
    const file = put(signPe(makePeFile(), forged));
    expect(await publisherExemption(file, [pinPca])).toMatchObject({
      exempt: false,
      reason: expect.stringContaining('not through a pinned certificate'),
    });
  });

  it("refuses a certificate a publisher made for someone else's name with its own (non-CA) certificate", async () => {
    const file = put(signPe(makePeFile(), issuedByLeaf(fabrikam, CONTOSO)));
    expect(await publisherExemption(file, [pinPca])).toMatchObject({
      exempt: false,
      reason: expect.stringContaining('not through a pinned certificate'),
    });
  });

  it('refuses a signature made with a TLS server certificate from the pinned CA (not for code signing)', async () => {
    const ca = makeCa('Dual-use Root');
    const server = makeLeaf(ca, { commonName: CONTOSO });
    const file = put(signPe(makePeFile(), { chainPem: server.cert + ca.cert, keyPem: server.key, leafSha256: '', rootSha256: '' }));
    expect(await publisherExemption(file, [{ name: CONTOSO, caSha256: [certSha256(ca.cert)] }])).toEqual({
      exempt: false,
      reason: 'the signing certificate is not for code signing',
    });
  });

  it('does not walk a signature stuffed with certificates (more than 32)', async () => {
    const file = put(signPe(makePeFile(), { ...contoso, chainPem: contoso.chainPem + contoso.intermediatePem!.repeat(40) }));
    expect(await publisherExemption(file, [pinPca])).toEqual({ exempt: false, reason: 'more than 32 certificates in the signature' });
  });

  it('does not check signatures with keys crafted to be costly (8192-bit RSA, or a 41-bit exponent)', async () => {
    const issuer = makeCa('Costly Keys Root');
    for (const extra of [certificateWithRsaKey(issuer, 8192, 65537n), certificateWithRsaKey(issuer, 2048, 2n ** 40n + 1n)]) {
      const file = put(signPe(makePeFile(), { ...contoso, chainPem: contoso.chainPem + extra }));
      expect(await publisherExemption(file, [pinPca])).toEqual({
        exempt: false,
        reason: 'an embedded certificate has a key of an unsupported type or size',
      });
    }
  });

  it('refuses a signed file with one byte of its code changed after signing', async () => {
    const signed = signPe(makePeFile(), contoso);
    signed[PE_CODE_OFFSET] = 0x90;
    const file = put(signed);
    expect(await publisherExemption(file, [pinPca])).toEqual({
      exempt: false,
      reason: 'the file does not match its signature (image digest differs)',
    });
  });

  it('refuses a file that is no longer the bytes that matched', async () => {
    const file = put(signPe(makePeFile(), contoso));
    expect(await publisherExemption({ path: file.path, sha256: 'e'.repeat(64) }, [pinPca])).toEqual({
      exempt: false,
      reason: 'the file changed since it matched',
    });
  });

  it('refuses an unsigned PE file and a file that is not a PE', async () => {
    expect(await publisherExemption(put(makePeFile()), [pinPca])).toEqual({
      exempt: false,
      reason: 'a PE file without an Authenticode signature',
    });
    expect(await publisherExemption(put(Buffer.from('#!/bin/sh\necho hi\n'), 'script.sh'), [pinPca])).toEqual({
      exempt: false,
      reason: 'not a PE (Windows executable) file',
    });
    expect(await publisherExemption(put(Buffer.from('MZ')), [pinPca])).toMatchObject({ exempt: false });
  });

  it('does not follow a symbolic link to a signed file', async () => {
    const target = put(signPe(makePeFile(), contoso));
    const link = join(dir, 'link.exe');
    symlinkSync(target.path, link);
    expect(await publisherExemption({ path: link, sha256: target.sha256 }, [pinPca])).toEqual({
      exempt: false,
      reason: 'a symbolic link (not followed)',
    });
  });

  it('refuses a truncated or garbage certificate table without throwing', async () => {
    const signed = signPe(makePeFile(), contoso);
    const tableAt = signed.readUInt32LE(CERT_DIR_ENTRY);
    const cases: Buffer[] = [
      signed.subarray(0, signed.length - 100),
      signed.subarray(0, tableAt + 4),
      Buffer.concat([signed.subarray(0, tableAt + 8), Buffer.alloc(signed.length - tableAt - 8, 0xff)]),
      Buffer.concat([
        signed.subarray(0, tableAt + 8),
        createHash('sha512').update('noise').digest(),
        Buffer.alloc(signed.length - tableAt - 72),
      ]),
    ];
    // The certificate table's size claims more than the file holds, then less than a WIN_CERTIFICATE header.
    const tooLong = Buffer.from(signed);
    tooLong.writeUInt32LE(signed.length, CERT_DIR_ENTRY + 4);
    const tooShort = Buffer.from(signed);
    tooShort.writeUInt32LE(4, CERT_DIR_ENTRY + 4);
    cases.push(tooLong, tooShort);
    for (const bytes of cases) {
      const d = await publisherExemption(put(bytes), [pinPca]);
      expect(d).toMatchObject({ exempt: false, reason: expect.any(String) });
    }
  });

  it('survives any corrupted byte of the signature without throwing', async () => {
    const signed = signPe(makePeFile(), contoso);
    const tableAt = signed.readUInt32LE(CERT_DIR_ENTRY);
    for (let at = tableAt; at < signed.length; at += 3) {
      const bytes = Buffer.from(signed);
      bytes[at] = bytes[at]! ^ 0x5a;
      const d = await publisherExemption({ path: put(bytes, 'fuzz.exe').path }, [pinPca]);
      expect(typeof d.exempt).toBe('boolean');
    }
  });

  it('refuses a signature with any signed part corrupted: content, signed attributes, certificates, signature value', async () => {
    const signed = signPe(makePeFile(), contoso);
    const pca = new X509Certificate(contoso.intermediatePem!).raw;
    const leaf = new X509Certificate(contoso.chainPem).raw;
    const spots = {
      // Inside SpcIndirectDataContent, after the SPC_PE_IMAGE_DATA object identifier.
      content: signed.indexOf(Buffer.from('060a2b06010401823702010f', 'hex')) + 14,
      // The signingTime attribute's value.
      signedAttributes: signed.indexOf(Buffer.from('06092a864886f70d010905', 'hex')) + 15,
      intermediate: signed.indexOf(pca) + 200,
      // Inside the signing certificate's RSA modulus.
      signingCertificate: signed.indexOf(leaf) + 260,
      signatureValue: signed.length - 20,
    };
    const REASON: Record<keyof typeof spots, string> = {
      content: 'the signed attributes do not match the signed content (messageDigest differs)',
      signedAttributes: 'the signature does not verify with the signing certificate',
      intermediate: 'signed in the name of "Contoso Ltd", but not through a pinned certificate',
      signingCertificate: 'the signature does not verify with the signing certificate',
      signatureValue: 'the signature does not verify with the signing certificate',
    };
    for (const [part, at] of Object.entries(spots)) {
      expect(at, part).toBeGreaterThan(signed.readUInt32LE(CERT_DIR_ENTRY) + 8);
      const bytes = Buffer.from(signed);
      bytes[at] = bytes[at]! ^ 0x01;
      expect(await publisherExemption(put(bytes), [pinPca]), part).toEqual({ exempt: false, reason: REASON[part as keyof typeof spots] });
    }
  });

  it('refuses a signed file with data stuffed after the signature in its certificate table', async () => {
    const signed = signPe(makePeFile(), contoso);
    const padded = Buffer.concat([signed, Buffer.alloc(64, 0x41)]);
    // The table and its WIN_CERTIFICATE both claim the extra bytes, as in the installers CVE-2013-3900 is about.
    padded.writeUInt32LE(signed.readUInt32LE(CERT_DIR_ENTRY + 4) + 64, CERT_DIR_ENTRY + 4);
    const tableAt = signed.readUInt32LE(CERT_DIR_ENTRY);
    padded.writeUInt32LE(padded.readUInt32LE(tableAt) + 64, tableAt);
    expect(await publisherExemption(put(padded), [pinPca])).toEqual({
      exempt: false,
      reason: 'data after the signature in the certificate table',
    });
  });

  it('still exempts a signature carrying an RFC 3161 timestamp and a nested second signature', async () => {
    const tsa = timestampingIdentity(makeCa('Sandgate Test TSA Root'));
    const dual = timestamp(nestSignature(signPe(makePeFile(), contoso, 'sha1'), contoso, 'sha256'), tsa);
    expect(await publisherExemption(put(dual), [pinPca])).toEqual({ exempt: true, publisher: CONTOSO });
    // The rebuild used by the next scenarios changes nothing by itself.
    expect(await publisherExemption(put(rewriteSignedData(dual, {})), [pinPca])).toEqual({ exempt: true, publisher: CONTOSO });
  });

  it('refuses a signed installer carrying a configuration blob in its signature (ScreenConnect pattern)', async () => {
    const signed = signPe(makePeFile(), contoso);
    // osslsigncode's own blob attribute, which tagging tools use to change an installer's data after signing.
    expect(await publisherExemption(put(addUnauthenticatedBlob(signed)), [pinPca])).toEqual({
      exempt: false,
      reason: 'unauthenticated attribute 1.3.6.1.4.1.42921.1.2.1 is not a timestamp or a nested signature',
    });
    const config = derAttribute('1.3.6.1.4.1.99999.1', der(0x04, Buffer.from('relay=attacker.example:8041&silent=1')));
    expect(await publisherExemption(put(rewriteSignedData(signed, { unsignedAttributes: [config] })), [pinPca])).toEqual({
      exempt: false,
      reason: 'unauthenticated attribute 1.3.6.1.4.1.99999.1 is not a timestamp or a nested signature',
    });
  });

  it('refuses a nested-signature attribute too large to be one, or holding something other than a signature', async () => {
    const signed = signPe(makePeFile(), contoso);
    const huge = derAttribute(OID_NESTED_SIGNATURE, der(0x30, Buffer.alloc(70_000, 0x41)));
    expect(await publisherExemption(put(rewriteSignedData(signed, { unsignedAttributes: [huge] })), [pinPca])).toEqual({
      exempt: false,
      reason: 'unauthenticated attributes larger than 65536 bytes',
    });
    const text = derAttribute(OID_NESTED_SIGNATURE, der(0x04, Buffer.from('not a signature')));
    expect(await publisherExemption(put(rewriteSignedData(signed, { unsignedAttributes: [text] })), [pinPca])).toEqual({
      exempt: false,
      reason: 'unauthenticated attribute 1.3.6.1.4.1.311.2.4.1: unexpected structure',
    });
  });

  it('refuses a signature carrying CRLs, which no digest covers', async () => {
    const signed = signPe(makePeFile(), contoso);
    const crls = der(0xa1, der(0x30, Buffer.from('anything at all, unsigned')));
    expect(await publisherExemption(put(rewriteSignedData(signed, { crls })), [pinPca])).toEqual({
      exempt: false,
      reason: 'the signature carries CRLs, which no digest covers',
    });
  });

  it('treats files and signatures over the limits as unverifiable, not as signed', async () => {
    const file = put(signPe(makePeFile(), contoso));
    expect(await publisherExemption(file, [pinPca], { maxFileBytes: 1000, maxSignatureBytes: 1024 * 1024 })).toEqual({
      exempt: false,
      reason: 'larger than 1000 bytes: not read',
    });
    expect(await publisherExemption(file, [pinPca], { maxFileBytes: 1 << 20, maxSignatureBytes: 100 })).toEqual({
      exempt: false,
      reason: 'signature larger than 100 bytes: not parsed',
    });
  });

  it('reports what it verified for a signed file', async () => {
    const bytes = signPe(makePeFile(), contoso);
    const sig = await readFileSignature(put(bytes).path);
    expect(sig).toMatchObject({ kind: 'verified', sha256: sha256(bytes), signer: { publisher: CONTOSO } });
  });
});
