/**
 * Builds, from a YARA rule's own text, a sample file the rule must match (test helper: planted samples for the real
 * ReversingLabs rules). The strings are filled as `yara-plant-strings.ts` says; the condition is planned as
 * `yara-plant-condition.ts` reads it: the first branch of an `or` that can be planted, the first N plantable strings
 * of an `N of`. Magic numbers (`uint16(0) == 0x5A4D`) are written at their offsets, strings at their `at` offsets,
 * the rest one after another with gaps. A string `at pe.entry_point` gets a minimal PE32 (one section, the entry point
 * at file offset 0x400); `at elf.entry_point` a minimal ELF32 executable (entry point at file offset 0x100).
 * A condition over Authenticode signatures (`for any i in (0..pe.number_of_signatures): (…)`, `pe.number_of_signatures
 * > 0`) gets a PE (test/helpers/pe-file.ts, the strings in its one section) signed in-process with a certificate
 * carrying the subject, issuer, serial and validity the condition names (test/helpers/authenticode-forge.ts).
 *
 * A rule that cannot be planted says why, in words grouped by the test: `pe.signatures (Authenticode)`, `negation
 * (not)`, `for loop`, `module value pe.x`, `regular expression string`, `fixed offsets overlap`...
 */
import { parseCondition, type Cond } from './yara-plant-condition.ts';
import { newSigNeed, satisfySig, signedSample, type PlantedSignature, type SigNeed } from './yara-plant-signature.ts';
import { parseStringsSection, type PlantString } from './yara-plant-strings.ts';

export type Planted = { rule: string; bytes: Buffer; signature?: PlantedSignature } | { rule: string; unplantable: string };

export type { PlantedSignature } from './yara-plant-signature.ts';

interface Need {
  strings: Map<string, { at?: number | 'pe.entry_point' | 'elf.entry_point'; count: number }>;
  ints: Array<{ offset: number; bits: 8 | 16 | 32; be: boolean; value: number }>;
  sizes: Array<{ op: string; n: number }>;
  signature?: SigNeed;
}

const PE_ENTRY_OFFSET = 0x400;
const ELF_ENTRY_OFFSET = 0x100;
const GAP = 16;

/** Splits `rule NAME ... { meta: … strings: … condition: … }` into its name, strings and condition. */
export function ruleSections(text: string): { name: string; strings: string; condition: string } {
  // Blank quoted text (same length) so a meta value saying "condition:" does not count.
  const blank = text.replace(/"(?:[^"\\\n]|\\.)*"/g, (m) => `"${' '.repeat(m.length - 2)}"`);
  const name = /\brule\s+([A-Za-z0-9_]+)/.exec(blank)?.[1] ?? '?';
  const s = /\bstrings\s*:/.exec(blank);
  const c = /\bcondition\s*:/.exec(blank);
  if (!c) throw new Error(`rule ${name}: no condition`);
  const end = blank.lastIndexOf('}');
  return {
    name,
    strings: s ? text.slice(s.index + s[0].length, c.index) : '',
    condition: text.slice(c.index + c[0].length, end),
  };
}

export function plantRule(text: string): Planted {
  const { name, strings, condition } = ruleSections(text);
  let defs: PlantString[];
  let cond: Cond;
  try {
    defs = parseStringsSection(strings);
    cond = parseCondition(
      condition,
      defs.map((d) => d.id),
    );
  } catch (e) {
    return { rule: name, unplantable: `not understood by the planter: ${(e as Error).message}` };
  }
  const byId = new Map(defs.map((d) => [d.id, d]));
  const need = satisfy(cond, { strings: new Map(), ints: [], sizes: [] }, byId);
  if ('fail' in need) return { rule: name, unplantable: need.fail };
  const built = build(need, byId);
  return 'fail' in built ? { rule: name, unplantable: built.fail } : { rule: name, ...built };
}

function satisfy(c: Cond, need: Need, defs: Map<string, PlantString>): Need | { fail: string } {
  switch (c.k) {
    case 'true':
      return need;
    case 'unplantable':
      return { fail: c.why };
    case 'and': {
      let n: Need | { fail: string } = need;
      for (const x of c.xs) {
        n = satisfy(x, n, defs);
        if ('fail' in n) return n;
      }
      return n;
    }
    case 'or': {
      let first: { fail: string } | undefined;
      for (const x of c.xs) {
        const n = satisfy(x, clone(need), defs);
        if (!('fail' in n)) return n;
        first ??= n;
      }
      return first!;
    }
    case 'str': {
      const d = defs.get(c.id);
      if (!d) return { fail: `unknown string ${c.id}` };
      if ('unplantable' in d) return { fail: d.unplantable };
      const had = need.strings.get(c.id);
      if (had?.at !== undefined && c.at !== undefined && had.at !== c.at) return { fail: 'one string at two offsets' };
      need.strings.set(c.id, { at: c.at ?? had?.at, count: Math.max(c.count ?? 1, had?.count ?? 1) });
      return need;
    }
    case 'of': {
      const want = c.n === 'all' ? c.ids.length : c.n === 'any' ? 1 : c.n;
      const usable = c.ids.filter((id) => {
        const d = defs.get(id);
        return d && 'bytes' in d;
      });
      if (usable.length < want) {
        const bad = c.ids.map((id) => defs.get(id)).find((d) => d && 'unplantable' in d);
        return { fail: bad && 'unplantable' in bad ? bad.unplantable : `${want} of ${c.ids.length} strings` };
      }
      for (const id of usable.slice(0, want)) if (!need.strings.has(id)) need.strings.set(id, { count: 1 });
      return need;
    }
    case 'uint':
      need.ints.push({ offset: c.offset, bits: c.bits, be: c.be, value: c.value });
      return need;
    case 'size':
      need.sizes.push({ op: c.op, n: c.n });
      return need;
    case 'signed': {
      const sig = satisfySig(c.body, need.signature ?? newSigNeed());
      if ('fail' in sig) return sig;
      need.signature = sig;
      return need;
    }
    case 'sig':
      return { fail: 'pe.signatures outside a signature loop' };
  }
}

const clone = (n: Need): Need => ({
  strings: new Map(n.strings),
  ints: [...n.ints],
  sizes: [...n.sizes],
  ...(n.signature ? { signature: structuredClone(n.signature) } : {}),
});

/** Bytes written so far, refusing to overwrite a byte with another value. */
class Canvas {
  private buf = Buffer.alloc(0);
  private set: boolean[] = [];
  get length(): number {
    return this.buf.length;
  }
  write(offset: number, bytes: Buffer): boolean {
    if (offset + bytes.length > this.buf.length) {
      const grown = Buffer.alloc(offset + bytes.length);
      this.buf.copy(grown);
      this.buf = grown;
    }
    for (let k = 0; k < bytes.length; k++) {
      if (this.set[offset + k] && this.buf[offset + k] !== bytes[k]) return false;
      this.buf[offset + k] = bytes[k]!;
      this.set[offset + k] = true;
    }
    return true;
  }
  padTo(n: number): void {
    if (n > this.buf.length) this.write(n - 1, Buffer.alloc(1));
  }
  bytes(): Buffer {
    return this.buf;
  }
}

function int(bits: number, be: boolean, value: number): Buffer {
  const b = Buffer.alloc(bits / 8);
  if (bits === 8) b.writeUInt8(value & 0xff);
  else if (bits === 16) (be ? b.writeUInt16BE : b.writeUInt16LE).call(b, value & 0xffff);
  else (be ? b.writeUInt32BE : b.writeUInt32LE).call(b, value >>> 0);
  return b;
}
const u16 = (v: number) => int(16, false, v);
const u32 = (v: number) => int(32, false, v);

function build(need: Need, defs: Map<string, PlantString>): { bytes: Buffer; signature?: PlantedSignature } | { fail: string } {
  if (need.signature) {
    const strings: Buffer[] = [];
    for (const [id, s] of need.strings) {
      if (s.at !== undefined) return { fail: 'a string at a fixed offset in a signed PE' };
      for (let k = 0; k < s.count; k++) strings.push((defs.get(id) as { bytes: Buffer }).bytes, Buffer.alloc(GAP));
    }
    if (need.sizes.length) return { fail: 'filesize with a signature' };
    const ints = need.ints.map((i) => ({ offset: i.offset, bytes: int(i.bits, i.be, i.value) }));
    return signedSample(Buffer.concat(strings), ints, need.signature);
  }
  const canvas = new Canvas();
  const ats = [...need.strings.values()].map((s) => s.at);
  const pe = ats.includes('pe.entry_point');
  const elf = ats.includes('elf.entry_point');
  if (pe && elf) return { fail: 'both a PE and an ELF entry point' };
  const fixed: Array<[number, Buffer]> = need.ints.map((i) => [i.offset, int(i.bits, i.be, i.value)]);
  if (pe) fixed.push(...peHeaders());
  if (elf) fixed.push(...elfHeaders());
  for (const [id, s] of need.strings) {
    if (s.at === undefined) continue;
    const at = s.at === 'pe.entry_point' ? PE_ENTRY_OFFSET : s.at === 'elf.entry_point' ? ELF_ENTRY_OFFSET : s.at;
    fixed.push([at, (defs.get(id) as { bytes: Buffer }).bytes]);
  }
  for (const [at, b] of fixed) if (!canvas.write(at, b)) return { fail: 'fixed offsets overlap' };
  let cursor = canvas.length === 0 ? 0 : canvas.length + GAP;
  for (const [id, s] of need.strings) {
    const b = (defs.get(id) as { bytes: Buffer }).bytes;
    for (let k = s.at === undefined ? 0 : 1; k < s.count; k++) {
      canvas.write(cursor, b);
      cursor += b.length + GAP;
    }
  }
  canvas.padTo(cursor);
  if (pe) {
    // The one section covers everything from the entry point on.
    const raw = Math.ceil((canvas.length - PE_ENTRY_OFFSET) / 0x200) * 0x200;
    canvas.padTo(PE_ENTRY_OFFSET + raw);
    const at = (o: number, b: Buffer) => canvas.write(o, b);
    at(0x178 + 8, u32(raw));
    at(0x178 + 16, u32(raw));
    at(0x98 + 56, u32(0x1000 + Math.ceil(raw / 0x1000) * 0x1000));
  }
  if (elf) {
    canvas.write(52 + 16, u32(canvas.length));
    canvas.write(52 + 20, u32(canvas.length));
  }
  for (const s of need.sizes) {
    const len = canvas.length;
    const ok = { '<': len < s.n, '<=': len <= s.n, '>': true, '>=': true, '==': len <= s.n, '!=': len !== s.n }[s.op];
    if (!ok) return { fail: `filesize ${s.op} ${s.n} leaves no room for the strings` };
    if (s.op === '>') canvas.padTo(Math.max(len, s.n + 1));
    if (s.op === '>=' || s.op === '==') canvas.padTo(Math.max(len, s.n));
  }
  return { bytes: canvas.bytes() };
}

/** A PE32 image: DOS header, PE signature, COFF header, optional header, one section at file offset 0x400. */
function peHeaders(): Array<[number, Buffer]> {
  const opt = 0x98;
  return [
    [0, Buffer.from('MZ')],
    [0x3c, u32(0x80)],
    [0x80, Buffer.from('PE\0\0', 'latin1')],
    [0x84, Buffer.concat([u16(0x14c), u16(1), u32(0), u32(0), u32(0), u16(0xe0), u16(0x0102)])],
    [opt, u16(0x10b)],
    [opt + 16, Buffer.concat([u32(0x1000), u32(0x1000)])], // AddressOfEntryPoint, BaseOfCode
    [opt + 28, Buffer.concat([u32(0x400000), u32(0x1000), u32(0x200), u16(4), u16(0), u16(0), u16(0), u16(4)])],
    [opt + 60, u32(PE_ENTRY_OFFSET)], // SizeOfHeaders
    [opt + 68, u16(2)], // Subsystem: GUI
    [opt + 92, u32(16)], // NumberOfRvaAndSizes
    [0x178, Buffer.from('.text\0\0\0', 'latin1')],
    [0x178 + 12, u32(0x1000)], // VirtualAddress
    [0x178 + 20, u32(PE_ENTRY_OFFSET)], // PointerToRawData
    [0x178 + 36, u32(0x60000020)],
  ];
}

/** An ELF32 little-endian i386 executable with one PT_LOAD segment mapping the whole file at 0x08048000. */
function elfHeaders(): Array<[number, Buffer]> {
  const base = 0x08048000;
  return [
    [0, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0])],
    [16, Buffer.concat([u16(2), u16(3), u32(1), u32(base + ELF_ENTRY_OFFSET), u32(52), u32(0), u32(0)])],
    [40, Buffer.concat([u16(52), u16(32), u16(1), u16(40), u16(0), u16(0)])],
    [52, Buffer.concat([u32(1), u32(0), u32(base), u32(base)])],
    [52 + 24, Buffer.concat([u32(5), u32(0x1000)])],
  ];
}
