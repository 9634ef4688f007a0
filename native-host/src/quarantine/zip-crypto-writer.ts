import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/**
 * A ZIP archive whose entries are stored (no compression) and encrypted with the traditional PKWARE cipher
 * ("ZipCrypto"): the convention analysts use to pass malware samples around (password `infected`). The cipher is weak
 * on purpose-fit grounds only: it stops mail filters, scanners and double-clicks from touching the sample, and every
 * unzip, 7-Zip, Python `zipfile` and Windows Explorer opens it. Secrecy is not the goal; the quarantine store is.
 *
 * Entries are streamed: sizes and CRC go in a data descriptor after the data (general purpose bit 3), so one pass is
 * enough and memory stays flat. ZIP64 is not written, so the whole archive must stay below 4 GiB: an entry may hold
 * up to 4 GiB − 1 MiB, the rest is room for the small entries and the directory.
 *
 * Why not a package: yazl writes no encryption, and the one archiver plugin that does (archiver-zip-encrypted) brings
 * archiver's whole dependency tree into the agent for what is 170 lines here.
 */
export const ZIP_ENTRY_MAX_BYTES = 0xfff0_0000;

const FLAG_ENCRYPTED = 0x0001;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const ENCRYPTION_HEADER_BYTES = 12;

interface CentralEntry {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
  dosTime: number;
  dosDate: number;
}

/** The three-key state of the traditional PKWARE cipher (APPNOTE 6.1). */
class ZipCryptoKeys {
  private k0 = 0x12345678;
  private k1 = 0x23456789;
  private k2 = 0x34567890;

  constructor(password: Buffer) {
    for (const b of password) this.update(b);
  }

  private update(b: number): void {
    this.k0 = crcByte(this.k0, b);
    this.k1 = (Math.imul((this.k1 + (this.k0 & 0xff)) >>> 0, 134775813) + 1) >>> 0;
    this.k2 = crcByte(this.k2, this.k1 >>> 24);
  }

  /** Encrypts in place. */
  encrypt(buf: Buffer): Buffer {
    for (let i = 0; i < buf.length; i++) {
      const t = (this.k2 | 2) & 0xffff;
      const plain = buf[i]!;
      buf[i] = plain ^ ((Math.imul(t, t ^ 1) >>> 8) & 0xff);
      this.update(plain);
    }
    return buf;
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crcByte(crc: number, b: number): number {
  return (CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8)) >>> 0;
}

function dosDateTime(d: Date): { dosTime: number; dosDate: number } {
  const year = Math.max(1980, d.getFullYear());
  return {
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    dosDate: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

export class ZipCryptoWriter {
  private readonly out: FileHandle;
  private readonly password: Buffer;
  private readonly entries: CentralEntry[] = [];
  private pos = 0;

  constructor(out: FileHandle, password: string) {
    this.out = out;
    this.password = Buffer.from(password, 'utf8');
  }

  /**
   * Adds one entry whose plaintext `produce` hands over chunk by chunk. `expectedSize` is checked, so a short source
   * cannot yield an archive that silently holds less than it says.
   */
  async addEntry(
    name: string,
    expectedSize: number,
    modified: Date,
    produce: (sink: (chunk: Buffer) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    if (expectedSize > ZIP_ENTRY_MAX_BYTES)
      throw new RangeError(`${name}: ${expectedSize} bytes is more than a ZIP entry without ZIP64 holds`);
    const nameBytes = Buffer.from(name, 'utf8');
    const { dosTime, dosDate } = dosDateTime(modified);
    const offset = this.pos;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR | FLAG_UTF8, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    // crc and sizes are 0 here and follow in the data descriptor
    local.writeUInt16LE(nameBytes.length, 26);
    await this.write(Buffer.concat([local, nameBytes]));

    const keys = new ZipCryptoKeys(this.password);
    const header = randomBytes(ENCRYPTION_HEADER_BYTES);
    // With a data descriptor the password check byte is the high byte of the DOS time (APPNOTE 6.1.6).
    header[ENCRYPTION_HEADER_BYTES - 1] = (dosTime >>> 8) & 0xff;
    await this.write(keys.encrypt(header));

    let crc = 0;
    let size = 0;
    await produce(async (chunk) => {
      crc = crc32(chunk, crc);
      size += chunk.length;
      await this.write(keys.encrypt(Buffer.from(chunk)));
    });
    if (size !== expectedSize) throw new Error(`${name}: ${size} bytes produced where ${expectedSize} were expected`);

    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc >>> 0, 4);
    descriptor.writeUInt32LE(size + ENCRYPTION_HEADER_BYTES, 8);
    descriptor.writeUInt32LE(size, 12);
    await this.write(descriptor);
    this.entries.push({ name: nameBytes, crc: crc >>> 0, size, offset, dosTime, dosDate });
  }

  /** Writes the central directory; the archive is complete after this. */
  async finish(): Promise<void> {
    const start = this.pos;
    for (const e of this.entries) {
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(20, 4);
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR | FLAG_UTF8, 8);
      c.writeUInt16LE(0, 10);
      c.writeUInt16LE(e.dosTime, 12);
      c.writeUInt16LE(e.dosDate, 14);
      c.writeUInt32LE(e.crc, 16);
      c.writeUInt32LE(e.size + ENCRYPTION_HEADER_BYTES, 20);
      c.writeUInt32LE(e.size, 24);
      c.writeUInt16LE(e.name.length, 28);
      c.writeUInt32LE(e.offset, 42);
      await this.write(Buffer.concat([c, e.name]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.entries.length, 8);
    end.writeUInt16LE(this.entries.length, 10);
    end.writeUInt32LE(this.pos - start, 12);
    end.writeUInt32LE(start, 16);
    await this.write(end);
  }

  private async write(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.out.write(buf, done, buf.length - done, this.pos + done);
      done += bytesWritten;
    }
    this.pos += buf.length;
  }
}
