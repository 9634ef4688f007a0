import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZipCryptoWriter } from '#native-host/quarantine/zip-crypto-writer.ts';

let dir: string;
beforeEach(() => (dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-zip-')))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function writeZip(file: string, password: string, entries: Array<[string, Buffer[]]>): Promise<void> {
  const fh = await open(file, 'wx');
  try {
    const zip = new ZipCryptoWriter(fh, password);
    for (const [name, chunks] of entries) {
      const size = chunks.reduce((n, c) => n + c.length, 0);
      await zip.addEntry(name, size, new Date(2026, 10, 30, 12, 34, 56), async (sink) => {
        for (const c of chunks) await sink(c);
      });
    }
    await zip.finish();
  } finally {
    await fh.close();
  }
}

/** Python's zipfile is an independent reader: it checks the password byte and the CRC of every entry. */
function readWithPython(file: string, password: string): Record<string, string> {
  const script = `import sys, zipfile, hashlib, json
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({i.filename: hashlib.sha256(z.read(i, pwd=sys.argv[2].encode())).hexdigest() for i in z.infolist()}))`;
  return JSON.parse(execFileSync('python3', ['-c', script, file, password], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

const sha = (chunks: Buffer[]) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

describe('password-protected sample archives', () => {
  it('several entries of many chunks, an empty one and a UTF-8 name read back intact with the password', async () => {
    const big = Array.from({ length: 8 }, () => randomBytes(64 * 1024 + 7));
    const entries: Array<[string, Buffer[]]> = [
      ['sample.exe', big],
      ['empty.txt', []],
      ['échantillon.json', [Buffer.from('{"ok":true}')]],
    ];
    const file = join(dir, 'a.zip');
    await writeZip(file, 'infected', entries);
    expect(readWithPython(file, 'infected')).toEqual(Object.fromEntries(entries.map(([n, c]) => [n, sha(c)])));
    execFileSync('unzip', ['-tq', '-P', 'infected', file], { stdio: 'pipe' });
  }, 30_000);

  it('a wrong password is refused by the reader', async () => {
    const file = join(dir, 'b.zip');
    await writeZip(file, 'infected', [['x.bin', [randomBytes(1000)]]]);
    expect(() => readWithPython(file, 'not-it')).toThrow();
  });

  it('a source that yields fewer bytes than announced fails instead of producing a short archive', async () => {
    const fh = await open(join(dir, 'c.zip'), 'wx');
    try {
      const zip = new ZipCryptoWriter(fh, 'infected');
      await expect(zip.addEntry('x.bin', 10, new Date(), (sink) => sink(Buffer.alloc(5)))).rejects.toThrow(/5 bytes produced where 10/);
    } finally {
      await fh.close();
    }
  });
});
