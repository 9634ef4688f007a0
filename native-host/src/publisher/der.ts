/**
 * Just enough DER to walk an Authenticode signature: each element keeps the exact bytes it came from, because what is
 * hashed and signed is those bytes, not a re-encoding. Indefinite lengths (BER) and high tag numbers are refused:
 * anything this reader does not understand makes the signature unverifiable, never accepted.
 * Why not a package: asn1js (PKI.js) and node-forge's asn1 both accept BER, indefinite lengths included, which is
 * exactly the leniency a signature parser should refuse; strict DER with the source bytes kept is 120 lines here and
 * adds no dependency to what the agent trusts when it decides never to quarantine a signed program.
 */
export class UnverifiableSignature extends Error {
  override name = 'UnverifiableSignature';
}

export interface Der {
  /** The identifier octet (class, constructed bit and tag number together, e.g. 0x30 SEQUENCE, 0xa0 [0]). */
  tag: number;
  /** The whole element: tag, length and value. */
  bytes: Buffer;
  /** The value only. */
  value: Buffer;
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
} as const;

export function fail(reason: string): never {
  throw new UnverifiableSignature(reason);
}

/** The element starting at `offset` of `buf`. */
export function readDer(buf: Buffer, offset = 0): Der {
  if (offset + 2 > buf.length) fail('truncated DER element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) fail('DER tag number too large');
  let len = buf[offset + 1]!;
  let header = 2;
  if (len === 0x80) fail('indefinite length (BER) is not accepted');
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n > 4 || offset + 2 + n > buf.length) fail('DER length out of range');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
    header += n;
  }
  const end = offset + header + len;
  if (end > buf.length) fail('DER element runs past its container');
  return { tag, bytes: buf.subarray(offset, end), value: buf.subarray(offset + header, end) };
}

/** The elements inside a constructed element, in order. */
export function children(el: Der): Der[] {
  if (!(el.tag & 0x20)) fail('expected a constructed DER element');
  const out: Der[] = [];
  let at = 0;
  while (at < el.value.length) {
    const c = readDer(el.value, at);
    out.push(c);
    at += c.bytes.length;
  }
  return out;
}

export function expectTag(el: Der | undefined, tag: number, what: string): Der {
  if (!el || el.tag !== tag) fail(`${what}: unexpected structure`);
  return el;
}

/** Dotted form of an OBJECT IDENTIFIER. */
export function oid(el: Der | undefined): string {
  const v = expectTag(el, TAG.OID, 'object identifier').value;
  if (!v.length) fail('empty object identifier');
  const parts: number[] = [];
  let n = 0;
  for (const b of v) {
    n = n * 128 + (b & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 256) fail('object identifier arc too large');
    if (!(b & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  if (v[v.length - 1]! & 0x80) fail('truncated object identifier');
  const first = parts.shift()!;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/** The text of a directory string (UTF8String, PrintableString, IA5String, TeletexString, BMPString, UniversalString). */
export function directoryString(el: Der): string {
  switch (el.tag) {
    case 0x0c:
      return new TextDecoder('utf-8', { fatal: true }).decode(el.value);
    case 0x13:
    case 0x16:
    case 0x14:
      return el.value.toString('latin1');
    case 0x1e: {
      if (el.value.length % 2) fail('odd-length BMPString');
      const swapped = Buffer.from(el.value);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    case 0x1c: {
      if (el.value.length % 4) fail('bad UniversalString');
      let s = '';
      for (let i = 0; i < el.value.length; i += 4) {
        const cp = el.value.readUInt32BE(i);
        if (cp > 0x10ffff) fail('bad UniversalString');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return fail('unsupported string type in a certificate name');
  }
}
