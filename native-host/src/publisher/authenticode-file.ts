import { constants, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { parseAuthenticode } from './authenticode-signature.ts';
import { UnverifiableSignature } from './der.ts';
import { PE_HEAD_BYTES, peLayout, signaturePkcs7, type PeSignatureLayout } from './pe-layout.ts';
import { verifyAuthenticode, type VerifiedSigner } from './verify-authenticode.ts';

export interface SignatureLimits {
  /** Larger files are not read (their signature counts as unverifiable). */
  maxFileBytes: number;
  /** Larger certificate tables are not parsed. */
  maxSignatureBytes: number;
}

export const DEFAULT_SIGNATURE_LIMITS: SignatureLimits = { maxFileBytes: 512 * 1024 * 1024, maxSignatureBytes: 1024 * 1024 };

/**
 * What a file's Authenticode signature says. `verified` means the bytes are the ones signed and the signature was made
 * with the key of the (embedded) signing certificate; whether that certificate is trusted is the caller's question.
 * `sha256` is of the whole file as read, so the caller can tie the answer to the bytes it matched.
 */
export type FileSignature =
  | { kind: 'verified'; signer: VerifiedSigner; sha256: string }
  | { kind: 'not-pe' | 'unsigned' | 'unverifiable' | 'unreadable'; reason: string };

const CHUNK = 1024 * 1024;

/**
 * Reads `path` without following a link in its last component (O_NOFOLLOW; O_NONBLOCK so a FIFO cannot hang us),
 * bounded by `limits`, and verifies its Authenticode signature. Never throws.
 */
export async function readFileSignature(path: string, limits: SignatureLimits = DEFAULT_SIGNATURE_LIMITS): Promise<FileSignature> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      kind: 'unreadable',
      reason: code === 'ELOOP' ? 'a symbolic link (not followed)' : `could not be opened (${code ?? String(err)})`,
    };
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) return { kind: 'unreadable', reason: 'not a regular file' };
    if (st.size > BigInt(limits.maxFileBytes))
      return { kind: 'unverifiable', reason: `larger than ${limits.maxFileBytes} bytes: not read` };
    const size = Number(st.size);
    const head = await readAt(fh, 0, Math.min(size, PE_HEAD_BYTES));
    const pe = peLayout(head, size);
    if (pe.kind === 'not-pe') return { kind: 'not-pe', reason: 'not a PE (Windows executable) file' };
    if (pe.kind === 'unsigned') return { kind: 'unsigned', reason: 'a PE file without an Authenticode signature' };
    if (pe.layout.certTableSize > limits.maxSignatureBytes)
      return { kind: 'unverifiable', reason: `signature larger than ${limits.maxSignatureBytes} bytes: not parsed` };
    const table = await readAt(fh, pe.layout.certTableOffset, pe.layout.certTableSize);
    const sig = parseAuthenticode(signaturePkcs7(table));
    const digests = await fileDigests(fh, { stat: st, layout: pe.layout, head, table }, createHash(sig.imageDigestAlgorithm));
    return { kind: 'verified', signer: verifyAuthenticode(sig, digests.image), sha256: digests.whole };
  } catch (err) {
    if (err instanceof UnverifiableSignature) return { kind: 'unverifiable', reason: err.message };
    return { kind: 'unreadable', reason: err instanceof Error ? err.message : String(err) };
  } finally {
    await fh.close().catch(() => {});
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (!bytesRead) throw new UnverifiableSignature('the file shrank while it was read');
    got += bytesRead;
  }
  return buf;
}

/** What was read and parsed before the hashing pass, which must see the same file. */
export interface ParsedFile {
  /** fstat (bigint) taken before anything was read. */
  stat: BigIntStats;
  layout: PeSignatureLayout;
  /** The bytes the layout and the signature were parsed from: the file's start, and its certificate table. */
  head: Buffer;
  table: Buffer;
}

/**
 * One pass over the file: the SHA-256 of everything, and the Authenticode image digest, which leaves out the CheckSum,
 * the Certificate Table entry and the certificate table (which ends the file, checked by peLayout). The headers and the
 * table were read and parsed before this pass; the file is not ours and can change in between, so the bytes this pass
 * reads there must be the ones parsed (otherwise the digests would vouch for a signature that is not the one checked),
 * and after it the file must still have the size and times it had at the start (no growth, no write seen by fstat).
 * Throws UnverifiableSignature when the file changed.
 */
export async function fileDigests(fh: FileHandle, parsed: ParsedFile, image: Hash): Promise<{ image: Buffer; whole: string }> {
  const { layout, head, table } = parsed;
  const size = Number(parsed.stat.size);
  const whole = createHash('sha256');
  const skipped: Array<[number, number]> = [
    [layout.checksumOffset, layout.checksumOffset + 4],
    [layout.certDirEntryOffset, layout.certDirEntryOffset + 8],
    [layout.certTableOffset, size],
  ];
  const seen: Array<[number, Buffer]> = [
    [0, head],
    [layout.certTableOffset, table],
  ];
  for (let at = 0; at < size; at += CHUNK) {
    const chunk = await readAt(fh, at, Math.min(CHUNK, size - at));
    const end = at + chunk.length;
    for (const [start, bytes] of seen) {
      const s = Math.max(at, start);
      const e = Math.min(end, start + bytes.length);
      if (s < e && !chunk.subarray(s - at, e - at).equals(bytes.subarray(s - start, e - start))) changed();
    }
    whole.update(chunk);
    let from = at;
    for (const [s, e] of skipped) {
      if (e <= from || s >= end) continue;
      if (s > from) image.update(chunk.subarray(from - at, s - at));
      from = Math.max(from, e);
    }
    if (from < end) image.update(chunk.subarray(from - at));
  }
  const after = await fh.stat({ bigint: true });
  if (after.size !== parsed.stat.size || after.mtimeNs !== parsed.stat.mtimeNs || after.ctimeNs !== parsed.stat.ctimeNs) changed();
  return { image: image.digest(), whole: whole.digest('hex') };
}

function changed(): never {
  throw new UnverifiableSignature('the file changed while it was read');
}
