import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SandgateError } from '@sandgate/shared';
import { detectIocFormat } from '@sandgate/shared';
import type { FileObservation } from '#native-host/ioc/observation.ts';
import { compileYaraFiles } from '#native-host/ioc/yara-rule-set.ts';
import { sharedData } from '#test-helpers/shared-data.ts';

function file(path: string, bytes: Buffer): FileObservation & { contentAsked: number[] } {
  const o = {
    document: 'FileItem' as const,
    fullPath: path,
    fileName: path.split('/').pop()!,
    fileExtension: '',
    size: bytes.length,
    modified: new Date(0),
    contentAsked: [] as number[],
    async hashes() {
      return {};
    },
    async content(max: number) {
      o.contentAsked.push(max);
      return bytes.subarray(0, max);
    },
  };
  return o;
}

describe('YARA rules through YARA-X', () => {
  it('reports a rule that does not compile with the engine message and its line in the file, and runs the others', async () => {
    const source = [
      'rule Good { strings: $a = "MARKER-ONE" condition: $a }',
      'rule Broken { condition: no_such_identifier }',
      'rule UsesGood { strings: $b = { 4D 41 52 4B } condition: $b and Good }',
    ].join('\n');
    const r = compileYaraFiles([{ file: 'mixed.yar', source }]);
    expect(r.rules).toBe(2);
    expect(r.unsupported).toEqual([
      {
        file: 'mixed.yar',
        itemId: 'Broken',
        term: 'YARA rule Broken (line 2)',
        reason: expect.stringMatching(/^YARA_COMPILE_FAILED: error\[E009\]: unknown identifier `no_such_identifier`\n --> line:2:/),
      },
    ]);
    const m = await r.set!.match(file('/t/x', Buffer.from('..MARKER-ONE..')));
    expect(m.map((x) => [x.format, x.iocId, x.file, x.terms])).toEqual([
      ['yara', 'Good', 'mixed.yar', ['$a at offset 2']],
      ['yara', 'UsesGood', 'mixed.yar', ['$b at offset 2']],
    ]);
  });

  it('refuses include statements, so a rule file cannot make the agent read another file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-yara-inc-'));
    try {
      writeFileSync(join(dir, 'other.yar'), 'rule FromOtherFile { condition: true }');
      const r = compileYaraFiles([{ file: 'inc.yar', source: `include "${join(dir, 'other.yar')}"\nrule X { condition: true }` }]);
      expect(r.unsupported.map((u) => [u.term, u.reason])).toEqual([
        [`include "${join(dir, 'other.yar')}"`, expect.stringMatching(/^YARA_COMPILE_FAILED: include statements are refused/)],
      ]);
      // The rule beside it still runs; the included file's rule was never read.
      expect((await r.set!.match(file('/t/x', Buffer.from('x')))).map((m) => m.iocId)).toEqual(['X']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses modules that would have no data in a scan (cuckoo, vt) by name, rather than letting their rules be silently false', () => {
    const r = compileYaraFiles([
      {
        file: 'c.yar',
        source: 'import "cuckoo"\nrule FromReport { condition: cuckoo.network.host(/evil/) }\nrule Plain { condition: true }',
      },
    ]);
    expect(r.unsupported.map((u) => [u.itemId, u.reason.split('\n')[0]])).toEqual([
      ['FromReport', 'YARA_COMPILE_FAILED: error[E100]: the cuckoo module is not available in an IOC scan'],
    ]);
    expect(r.rules).toBe(1);
  });

  it('scans a bounded prefix of each file and says how many files it saw only in part', async () => {
    const r = compileYaraFiles([{ file: 'm.yar', source: 'rule Late { strings: $a = "LATE-MARKER" condition: $a }' }], 1024);
    expect(
      r.set!.plan({ document: 'FileItem', fullPath: '/a', fileName: 'a', fileExtension: '', size: 10, modified: new Date(0) }),
    ).toMatchObject({ possible: true, content: 1024 });
    const early = file('/t/early', Buffer.concat([Buffer.from('LATE-MARKER'), Buffer.alloc(3000)]));
    const late = file('/t/late', Buffer.concat([Buffer.alloc(2000), Buffer.from('LATE-MARKER')]));
    expect(await r.set!.match(early)).toHaveLength(1);
    expect(await r.set!.match(late)).toEqual([]);
    expect(late.contentAsked).toEqual([1024]);
    expect(r.set!.notes!()).toEqual([
      { area: 'yara', what: '2 file(s) larger than 1024 bytes', reason: expect.stringMatching(/first 1024 bytes only/) },
    ]);
  });

  it('finds the same matches in a small file (scanned on the calling thread) and a large one (on the thread pool)', async () => {
    const r = compileYaraFiles([{ file: 'm.yar', source: 'rule Marker { strings: $a = "SIZE-MARKER" condition: $a and filesize > 10 }' }]);
    for (const size of [100, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024]) {
      const bytes = Buffer.concat([Buffer.alloc(size - 11), Buffer.from('SIZE-MARKER')]);
      const m = await r.set!.match(file(`/t/${size}`, bytes));
      expect(
        m.map((x) => [x.iocId, x.terms[0]]),
        `${size} bytes`,
      ).toEqual([['Marker', `$a at offset ${size - 11}`]]);
    }
  });
});

describe('IOC formats are told apart by content, not by name', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it('reads OpenIOC, STIX and YARA whatever they are called, past a BOM and comments', () => {
    expect(detectIocFormat(enc('\ufeff<?xml version="1.0"?><ioc/>'), 'a.json')).toBe('openioc');
    expect(detectIocFormat(enc('  \n{"type": "bundle"}'), 'a.ioc')).toBe('stix');
    expect(detectIocFormat(enc('/* header */\n// more\nimport "pe"\nrule a { condition: true }'), 'a.xml')).toBe('yara');
    expect(detectIocFormat(enc('private rule a { condition: true }'), 'a')).toBe('yara');
  });

  it('gives IOC_FORMAT_UNKNOWN for anything else: text, binary, an empty file', () => {
    for (const bytes of [
      enc('md5,sha256\nabc,def\n'),
      new Uint8Array([0x4d, 0x5a, 0, 0, 1]),
      new Uint8Array(),
      enc('// only a comment\n'),
    ]) {
      try {
        detectIocFormat(bytes, 'f');
        expect.unreachable();
      } catch (err) {
        expect((err as SandgateError).code).toBe('IOC_FORMAT_UNKNOWN');
      }
    }
  });
});

const yara = sharedData('yara/reversinglabs');
if (!yara.exists) console.log(`yara-rule-set: ReversingLabs rules ${yara.skipReason}`);

describe('real YARA rules (ReversingLabs, MIT)', () => {
  it.skipIf(!yara.exists)(
    yara.exists ? 'all 274 files and their 1,204 rules compile together (pe and elf modules included), none reported' : yara.skipReason,
    async () => {
      const files = (readdirSync(yara.dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.yara')).sort();
      const r = compileYaraFiles(files.map((f) => ({ file: f, source: readFileSync(join(yara.dir, f), 'utf8') })));
      expect(files).toHaveLength(274);
      expect(r.unsupported).toEqual([]);
      expect(r.rules).toBe(1204);
      // A clean buffer matches nothing; the rules run.
      expect(await r.set!.match(file('/t/clean', Buffer.from('nothing to see here')))).toEqual([]);
    },
    60_000,
  );
});
