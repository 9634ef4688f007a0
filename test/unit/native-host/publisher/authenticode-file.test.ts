import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fileDigests, type ParsedFile } from '#native-host/publisher/authenticode-file.ts';
import { parseAuthenticode } from '#native-host/publisher/authenticode-signature.ts';
import { PE_HEAD_BYTES, peLayout, signaturePkcs7 } from '#native-host/publisher/pe-layout.ts';
import { codeSigningIdentity, requireOsslsigncode, signPe } from '#test-helpers/code-signing.ts';
import { PE_CODE_OFFSET, makePeFile } from '#test-helpers/pe-file.ts';
import { makeCa } from '#test-helpers/pki.ts';

/**
 * The signature is parsed from a first read of the headers and the certificate table; the digests come from a second
 * pass over the whole file. A file someone rewrites in between must not pass as the signed bytes: these scenarios
 * change the file at exactly that moment, between the parse and the hashing pass, with no timing involved.
 */
let dir: string;
let signed: Buffer;
let fh: FileHandle | undefined;

beforeAll(() => {
  requireOsslsigncode();
  dir = mkdtempSync(join(tmpdir(), 'sandgate-authenticode-file-'));
  signed = signPe(
    makePeFile(),
    codeSigningIdentity(makeCa('Race Test Root'), { organization: 'Contoso Ltd', commonName: 'Contoso' }, { intermediate: true }),
  );
}, 120_000);
afterEach(async () => {
  await fh?.close();
  fh = undefined;
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** Opens a fresh copy of the signed file and does what readFileSignature does before hashing: stat, read, parse. */
async function parsedCopy(): Promise<{ path: string; parsed: ParsedFile; imageDigest: Buffer }> {
  const path = join(dir, `f${n++}.exe`);
  writeFileSync(path, signed);
  fh = await open(path, 'r');
  const stat = await fh.stat({ bigint: true });
  const head = Buffer.from(signed.subarray(0, Math.min(signed.length, PE_HEAD_BYTES)));
  const pe = peLayout(head, signed.length);
  if (pe.kind !== 'signed') throw new Error('the test file is not signed');
  const table = Buffer.from(signed.subarray(pe.layout.certTableOffset));
  return { path, parsed: { stat, layout: pe.layout, head, table }, imageDigest: parseAuthenticode(signaturePkcs7(table)).imageDigest };
}

function overwrite(path: string, at: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

describe('hashing the file the signature was parsed from', () => {
  it('gives the signed image digest and the SHA-256 of the file when nothing changed', async () => {
    const { parsed, imageDigest } = await parsedCopy();
    const digests = await fileDigests(fh!, parsed, createHash('sha256'));
    expect(digests.image.equals(imageDigest)).toBe(true);
    expect(digests.whole).toBe(createHash('sha256').update(signed).digest('hex'));
  });

  it('refuses a file whose certificate table was swapped after it was parsed', async () => {
    const { path, parsed } = await parsedCopy();
    // Same size, same place: the hashing pass would vouch for a table that is not the one verified.
    overwrite(path, signed.length - 16, Buffer.alloc(16, 0x41));
    // Take the times after the write, so only the comparison of the bytes can notice.
    const stat = await fh!.stat({ bigint: true });
    await expect(fileDigests(fh!, { ...parsed, stat }, createHash('sha256'))).rejects.toThrow('the file changed while it was read');
  });

  it('refuses a file whose headers were rewritten after they were parsed', async () => {
    const { path, parsed } = await parsedCopy();
    // The COFF TimeDateStamp (covered by the image digest, so only a comparison with the parsed head notices here).
    overwrite(path, 0x40 + 8, Buffer.from('SWAP'));
    const stat = await fh!.stat({ bigint: true });
    await expect(fileDigests(fh!, { ...parsed, stat }, createHash('sha256'))).rejects.toThrow('the file changed while it was read');
  });

  it('refuses a file that grew after its size was taken', async () => {
    const { path, parsed } = await parsedCopy();
    appendFileSync(path, Buffer.from('appended after the stat'));
    await expect(fileDigests(fh!, parsed, createHash('sha256'))).rejects.toThrow('the file changed while it was read');
  });

  it('refuses a file written to while it was read, even when the bytes read are the signed ones', async () => {
    const { path, parsed } = await parsedCopy();
    // The code section and its own byte value restored: the bytes read are the signed ones, but the file was written.
    overwrite(path, PE_CODE_OFFSET, Buffer.of(signed[PE_CODE_OFFSET]!));
    utimesSync(path, new Date('2001-01-01T00:00:00Z'), new Date('2001-01-01T00:00:00Z'));
    await expect(fileDigests(fh!, parsed, createHash('sha256'))).rejects.toThrow('the file changed while it was read');
  });
});
