/**
 * The smallest Windows executable that signing tools accept: a DOS header pointing at a PE header, one `.text`
 * section, and all sixteen data directories (the fifth, the certificate table, is where a signature goes). It is never
 * run; it only has to be a well-formed PE so Authenticode signing and verification treat it as one.
 */
export interface PeOptions {
  /** PE32+ (64-bit optional header) instead of PE32. */
  pe32plus?: boolean;
  /** Bytes placed at the start of the `.text` section (which grows in 512-byte steps to hold them), so two files can
   * differ in their code. */
  code?: Uint8Array;
}

const FILE_ALIGNMENT = 0x200;
const SECTION_ALIGNMENT = 0x1000;

export function makePeFile(opts: PeOptions = {}): Buffer {
  const plus = !!opts.pe32plus;
  const optionalHeaderSize = plus ? 240 : 224;
  const peOffset = 0x40;
  const sectionTableOffset = peOffset + 4 + 20 + optionalHeaderSize;
  const headersSize = FILE_ALIGNMENT;
  const code = opts.code ?? Uint8Array.of(0xc3);
  const text = Buffer.alloc(Math.max(1, Math.ceil(code.length / FILE_ALIGNMENT)) * FILE_ALIGNMENT, 0xcc);
  text.set(code, 0);
  const textPages = Math.ceil(text.length / SECTION_ALIGNMENT);
  const file = Buffer.alloc(headersSize + text.length);

  // DOS header: the magic and e_lfanew.
  file.write('MZ', 0, 'latin1');
  file.writeUInt32LE(peOffset, 0x3c);

  // PE signature and COFF file header.
  file.write('PE\0\0', peOffset, 'latin1');
  const coff = peOffset + 4;
  file.writeUInt16LE(plus ? 0x8664 : 0x014c, coff); // Machine
  file.writeUInt16LE(1, coff + 2); // NumberOfSections
  file.writeUInt32LE(0x5f5e1000, coff + 4); // TimeDateStamp
  file.writeUInt16LE(optionalHeaderSize, coff + 16);
  file.writeUInt16LE(plus ? 0x0022 : 0x0102, coff + 18); // executable (+ large-address-aware / 32-bit machine)

  // Optional header.
  const o = coff + 20;
  file.writeUInt16LE(plus ? 0x20b : 0x10b, o);
  file.writeUInt32LE(text.length, o + 4); // SizeOfCode
  file.writeUInt32LE(SECTION_ALIGNMENT, o + 16); // AddressOfEntryPoint
  file.writeUInt32LE(SECTION_ALIGNMENT, o + 20); // BaseOfCode
  if (plus) file.writeBigUInt64LE(0x140000000n, o + 24);
  else file.writeUInt32LE(0x400000, o + 28); // ImageBase (PE32 has BaseOfData at +24)
  file.writeUInt32LE(SECTION_ALIGNMENT, o + 32);
  file.writeUInt32LE(FILE_ALIGNMENT, o + 36);
  file.writeUInt16LE(6, o + 40); // MajorOperatingSystemVersion
  file.writeUInt16LE(6, o + 48); // MajorSubsystemVersion
  file.writeUInt32LE((1 + textPages) * SECTION_ALIGNMENT, o + 56); // SizeOfImage
  file.writeUInt32LE(headersSize, o + 60); // SizeOfHeaders
  file.writeUInt16LE(3, o + 68); // Subsystem: console
  const stacks = o + 72;
  if (plus) {
    file.writeBigUInt64LE(0x100000n, stacks);
    file.writeBigUInt64LE(0x1000n, stacks + 8);
    file.writeBigUInt64LE(0x100000n, stacks + 16);
    file.writeBigUInt64LE(0x1000n, stacks + 24);
    file.writeUInt32LE(16, o + 108); // NumberOfRvaAndSizes
  } else {
    file.writeUInt32LE(0x100000, stacks);
    file.writeUInt32LE(0x1000, stacks + 4);
    file.writeUInt32LE(0x100000, stacks + 8);
    file.writeUInt32LE(0x1000, stacks + 12);
    file.writeUInt32LE(16, o + 92);
  }

  // Section table: one `.text`.
  const s = sectionTableOffset;
  file.write('.text', s, 'latin1');
  file.writeUInt32LE(text.length, s + 8); // VirtualSize
  file.writeUInt32LE(SECTION_ALIGNMENT, s + 12); // VirtualAddress
  file.writeUInt32LE(text.length, s + 16); // SizeOfRawData
  file.writeUInt32LE(headersSize, s + 20); // PointerToRawData
  file.writeUInt32LE(0x60000020, s + 36); // code, execute, read

  text.copy(file, headersSize);
  return file;
}

/** Where the `.text` section's bytes start in a file made by `makePeFile` (signing leaves it there). */
export const PE_CODE_OFFSET = FILE_ALIGNMENT;
