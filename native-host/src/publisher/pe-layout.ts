import { fail, readDer } from './der.ts';

/**
 * Where an Authenticode signature sits in a PE file, and which bytes its image digest leaves out: the optional
 * header's CheckSum, the Certificate Table entry of the data directory, and the certificate table itself (Microsoft,
 * "Windows Authenticode Portable Executable Signature Format"). Offsets are file offsets.
 */
export interface PeSignatureLayout {
  checksumOffset: number;
  certDirEntryOffset: number;
  certTableOffset: number;
  certTableSize: number;
}

export type PeLayoutResult = { kind: 'not-pe' } | { kind: 'unsigned' } | { kind: 'signed'; layout: PeSignatureLayout };

/** How much of the file's start `peLayout` needs at most: headers further in than this are refused. */
export const PE_HEAD_BYTES = 64 * 1024;

const SECURITY_DIRECTORY = 4;

/** `head` is the file's first bytes (up to PE_HEAD_BYTES), `fileSize` its size. Throws UnverifiableSignature when malformed. */
export function peLayout(head: Buffer, fileSize: number): PeLayoutResult {
  if (head.length < 0x40 || head.toString('latin1', 0, 2) !== 'MZ') return { kind: 'not-pe' };
  const pe = head.readUInt32LE(0x3c);
  if (pe + 24 > head.length || head.toString('latin1', pe, pe + 4) !== 'PE\0\0') return { kind: 'not-pe' };
  const optionalSize = head.readUInt16LE(pe + 20);
  const opt = pe + 24;
  if (opt + 2 > head.length) fail('PE optional header truncated');
  const magic = head.readUInt16LE(opt);
  // The data directory starts after the fixed fields, whose size differs between PE32 and PE32+.
  const dirs = magic === 0x10b ? opt + 96 : magic === 0x20b ? opt + 112 : fail('unknown PE optional header magic');
  if (dirs > opt + optionalSize || dirs > head.length) fail('PE optional header truncated');
  const count = head.readUInt32LE(dirs - 4);
  const entry = dirs + SECURITY_DIRECTORY * 8;
  if (count <= SECURITY_DIRECTORY || entry + 8 > opt + optionalSize || entry + 8 > head.length) return { kind: 'unsigned' };
  const certTableOffset = head.readUInt32LE(entry);
  const certTableSize = head.readUInt32LE(entry + 4);
  if (certTableOffset === 0 && certTableSize === 0) return { kind: 'unsigned' };
  if (certTableSize < 8) fail('certificate table too small');
  if (certTableOffset < entry + 8) fail('certificate table overlaps the PE headers');
  // Bytes after the table would be covered by no digest: a signature must end the file.
  if (certTableOffset + certTableSize !== fileSize) fail('the certificate table does not end the file');
  return { kind: 'signed', layout: { checksumOffset: opt + 64, certDirEntryOffset: entry, certTableOffset, certTableSize } };
}

/**
 * The PKCS#7 SignedData (DER, exact) of the certificate table, which must hold one WIN_CERTIFICATE (revision 2.0, type
 * PKCS_SIGNED_DATA) and after the DER nothing but the zeros that align it to 8 bytes: bytes there are covered by no
 * digest, and signed installers with data stuffed into them are a known abuse (CVE-2013-3900, Windows'
 * EnableCertPaddingCheck).
 */
export function signaturePkcs7(table: Buffer): Buffer {
  if (table.length < 8) fail('certificate table truncated');
  const length = table.readUInt32LE(0);
  const revision = table.readUInt16LE(4);
  const type = table.readUInt16LE(6);
  if (length < 8 || length > table.length) fail('WIN_CERTIFICATE length out of range');
  if (revision !== 0x0200) fail('unsupported WIN_CERTIFICATE revision');
  if (type !== 0x0002) fail('the certificate table holds no PKCS#7 signature');
  const der = readDer(table, 8).bytes;
  if (8 + der.length > length) fail('the signature runs past its WIN_CERTIFICATE');
  const rest = table.subarray(8 + der.length);
  if (rest.length >= 8 || rest.some((b) => b !== 0)) fail('data after the signature in the certificate table');
  return der;
}
