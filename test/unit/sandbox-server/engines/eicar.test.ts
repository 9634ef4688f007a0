import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEicarEngine, EICAR_STRING, isEicarTestFile } from '#lab/engines/eicar.ts';
import { levelOf, runEngine } from './run-engine.ts';

const eicar = Buffer.from(EICAR_STRING, 'latin1');

describe('eicar engine', () => {
  it('assembles the published 68-byte test string (MD5 44d88612…)', () => {
    expect(eicar.length).toBe(68);
    expect(createHash('md5').update(eicar).digest('hex')).toBe('44d88612fea8a8f36de82e1278abb02f');
  });

  it('reports the standard test file as malicious EICAR-Test-File', async () => {
    const f = await runEngine(createEicarEngine(), eicar);
    expect(levelOf(f)).toBe('malicious');
    expect(f.threat).toBe('EICAR-Test-File');
    expect(f.score).toBe(100);
    expect(f.indicators).toContainEqual({ type: 'signature', value: 'EICAR-Test-File', source: 'eicar' });
  });

  it('still recognises the test file followed by whitespace, as saved by editors (CRLF, spaces up to 128 bytes)', async () => {
    for (const tail of ['\r\n', '\n', ' \t ', ' '.repeat(128 - 68), '\x1a']) {
      const f = await runEngine(createEicarEngine(), Buffer.concat([eicar, Buffer.from(tail, 'latin1')]));
      expect(levelOf(f), JSON.stringify(tail)).toBe('malicious');
    }
  });

  it('recognises the test file when it arrives one byte at a time', async () => {
    const f = await runEngine(createEicarEngine(), Buffer.concat([eicar, Buffer.from('\r\n')]), { chunkSize: 1 });
    expect(f.threat).toBe('EICAR-Test-File');
  });

  it('does not call the string inside a bigger file the standard test file', async () => {
    const inside = Buffer.concat([Buffer.from('MZ some program header\n'), eicar]);
    expect(levelOf(await runEngine(createEicarEngine(), inside))).toBe('clean');
    const huge = Buffer.concat([eicar, Buffer.alloc(4096, 0x20)]);
    expect(levelOf(await runEngine(createEicarEngine(), huge))).toBe('clean');
  });

  it('does not accept anything but whitespace after the string, nor a padded file over 128 bytes', () => {
    expect(isEicarTestFile(Buffer.concat([eicar, Buffer.from('x')]))).toBe(false);
    expect(isEicarTestFile(Buffer.concat([eicar, Buffer.alloc(61, 0x20)]))).toBe(false);
    expect(isEicarTestFile(Buffer.concat([eicar, Buffer.alloc(60, 0x20)]))).toBe(true);
    expect(isEicarTestFile(eicar.subarray(0, 67))).toBe(false);
  });
});
