import { extname } from 'node:path';
import type { ContentKind, ContentType } from '@sandgate/shared';

/** How many leading bytes the sniffer looks at; copyAndHash keeps this much of the object. */
export const SNIFF_BYTES = 4096;

interface Signature {
  format: string;
  kind: ContentKind;
  /** Byte offset of the magic. */
  at: number;
  magic: Buffer;
}

const sig = (format: string, kind: ContentKind, magic: string | number[], at = 0): Signature => ({
  format,
  kind,
  at,
  magic: typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic),
});

// Order matters only where one magic is a prefix of another; none here are. Sources: the formats' own specifications
// (PE/COFF, ELF, Mach-O, PDF 1.7 §7.5.2, MS-CFB, ZIP APPNOTE, 7z, RAR, gzip RFC 1952, xz, MS-CAB, PNG, JFIF, GIF).
const SIGNATURES: readonly Signature[] = [
  sig('pe', 'executable', 'MZ'),
  sig('elf', 'executable', [0x7f, 0x45, 0x4c, 0x46]),
  sig('macho', 'executable', [0xcf, 0xfa, 0xed, 0xfe]),
  sig('macho', 'executable', [0xce, 0xfa, 0xed, 0xfe]),
  sig('macho-universal', 'executable', [0xca, 0xfe, 0xba, 0xbe]),
  sig('dex', 'executable', 'dex\n'),
  sig('ole2', 'document', [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
  sig('rtf', 'document', '{\\rtf'),
  sig('zip', 'archive', [0x50, 0x4b, 0x03, 0x04]),
  sig('zip', 'archive', [0x50, 0x4b, 0x05, 0x06]),
  sig('7z', 'archive', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]),
  sig('rar', 'archive', 'Rar!\x1a\x07'),
  sig('gzip', 'archive', [0x1f, 0x8b]),
  sig('xz', 'archive', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  sig('bzip2', 'archive', 'BZh'),
  sig('cab', 'archive', 'MSCF'),
  sig('lnk', 'executable', [0x4c, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00]),
  sig('png', 'media', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  sig('jpeg', 'media', [0xff, 0xd8, 0xff]),
  sig('gif', 'media', 'GIF8'),
  sig('webp', 'media', 'WEBP', 8),
  sig('mp4', 'media', 'ftyp', 4),
];

/** What a file name claims to be, by extension. Only claims that make a person less careful matter here. */
const HARMLESS_LOOKING: Readonly<Record<string, ContentKind>> = Object.fromEntries([
  ...['pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'rtf', 'odt', 'ods', 'txt', 'csv'].map((e) => [e, 'document' as const]),
  ...['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp', 'mp3', 'mp4', 'mov', 'avi'].map((e) => [e, 'media' as const]),
]);

/**
 * Names the content from its first bytes. Never used to skip an object: a file can be two formats at once (a PNG with
 * a ZIP appended is both), so what the extension captured is always analysed; this says what it is and whether its
 * name lies about it.
 */
export function sniffContent(head: Buffer, fileName: string): ContentType {
  const { kind, format } = identify(head);
  const claimed = HARMLESS_LOOKING[extname(fileName).slice(1).toLowerCase()];
  const disguised = claimed !== undefined && (kind === 'executable' || kind === 'script');
  return { kind, format, disguised };
}

function identify(head: Buffer): { kind: ContentKind; format: string } {
  for (const s of SIGNATURES) {
    if (head.length >= s.at + s.magic.length && head.subarray(s.at, s.at + s.magic.length).equals(s.magic)) return s;
  }
  // PDF readers accept the header anywhere in the first 1024 bytes, and so do attackers.
  if (head.subarray(0, 1024).includes('%PDF-', 0, 'latin1')) return { kind: 'document', format: 'pdf' };
  if (head.subarray(0, 2).toString('latin1') === '#!') return { kind: 'script', format: 'shebang' };
  if (looksLikeText(head)) return { kind: 'text', format: 'text' };
  return { kind: 'unknown', format: 'unknown' };
}

/** UTF-8 (or ASCII) without control bytes other than whitespace: scripts and plain text alike. */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  // A multi-byte character cut at the sniff window's end is not a reason to call the rest binary.
  const sample = head.subarray(0, Math.max(0, head.length - 3));
  for (const b of sample) if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample);
    return true;
  } catch {
    return false;
  }
}
