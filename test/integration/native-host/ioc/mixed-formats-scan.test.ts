import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanOutputSchema, type ScanOutput } from '@sandgate/shared';
import { runSandgate } from '../cli/run-sandgate.ts';

// `sandgate ioc scan` (the real CLI process) over a planted folder with one IOC file of each format: what a person
// sees is one scan, each match naming its format, indicator and what matched, and every part that cannot run named.

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const MIB = 1024 * 1024;
const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

let root: string;
let home: string;
let tree: string;
const files: Record<string, Buffer> = {};
const BY_HASH = 'indicator--a1a1a1a1-0000-4000-8000-000000000001';
const BY_NAME = 'indicator--a1a1a1a1-0000-4000-8000-000000000002';
const TIMED = 'indicator--a1a1a1a1-0000-4000-8000-000000000003';
const BY_URL = 'indicator--a1a1a1a1-0000-4000-8000-000000000004';

function plant(rel: string, bytes: Buffer): void {
  mkdirSync(join(tree, rel, '..'), { recursive: true });
  writeFileSync(join(tree, rel), bytes);
  files[rel] = bytes;
}

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-mixed-')));
  home = join(root, 'home');
  tree = join(root, 'tree');
  mkdirSync(home);
  plant('downloads/eicar.com', Buffer.from(EICAR));
  plant('cache/stage2.bin', Buffer.from('MZ....stage two payload, found by its SHA-256 in a STIX bundle'));
  plant('tmp/beacon.dat', Buffer.alloc(4096, 0x41));
  plant('docs/dropper.js', Buffer.from('var x = "SANDGATE-PLANTED-YARA-MARKER"; // found by a YARA string'));
  plant('docs/readme.txt', Buffer.from('nothing here'));
  // The marker lies past the first 16 MiB YARA sees: not found, and the result says why.
  plant('big/disk.img', Buffer.concat([Buffer.alloc(16 * MIB + 10), Buffer.from('SANDGATE-PLANTED-YARA-MARKER')]));

  writeFileSync(
    join(root, 'feed.json'),
    JSON.stringify({
      type: 'bundle',
      id: 'bundle--a1a1a1a1-0000-4000-8000-000000000000',
      objects: [
        {
          type: 'identity',
          spec_version: '2.1',
          id: 'identity--a1a1a1a1-0000-4000-8000-00000000000f',
          created: '2024-01-01T00:00:00Z',
          modified: '2024-01-01T00:00:00Z',
          name: 'A CTI team',
        },
        ind(BY_HASH, 'Stage two', `[file:hashes.'SHA-256' = '${sha256(files['cache/stage2.bin']!)}']`),
        ind(BY_NAME, 'Beacon config', "[file:name = 'beacon.dat' AND file:size = 4096]"),
        ind(TIMED, 'Timed', "[file:name = 'x'] WITHIN 60 SECONDS"),
        ind(BY_URL, 'C2 URL', "[url:value = 'http://c2.example/gate.php']"),
      ],
    }),
  );
  writeFileSync(
    join(root, 'rules.yar'),
    [
      'rule Planted_Marker : demo {',
      '  meta: description = "the planted marker"',
      '  strings: $m = "SANDGATE-PLANTED-YARA-MARKER"',
      '  condition: $m',
      '}',
      'rule Broken { condition: undefined_thing }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(root, 'eicar.ioc'),
    `<?xml version="1.0"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="eicar-ioc">
  <metadata><short_description>EICAR test file</short_description></metadata>
  <criteria>
    <Indicator operator="OR" id="top">
      <IndicatorItem id="by-hash" condition="is" preserve-case="false" negate="false">
        <Context document="FileItem" search="FileItem/Sha256sum" type="mir"/>
        <Content type="string">${sha256(EICAR)}</Content>
      </IndicatorItem>
    </Indicator>
  </criteria>
</OpenIOC>
`,
  );
  writeFileSync(join(root, 'hashes.csv'), 'sha256\n' + sha256(EICAR) + '\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function ind(id: string, name: string, pattern: string) {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id,
    created: '2024-01-01T00:00:00Z',
    modified: '2024-01-01T00:00:00Z',
    name,
    pattern,
    pattern_type: 'stix',
    valid_from: '2024-01-01T00:00:00Z',
  };
}

describe('sandgate ioc scan with an OpenIOC file, a STIX 2.1 bundle and YARA rules at once', () => {
  let out: ScanOutput;

  it('finds each planted object once, naming the format, the IOC file, the indicator and what matched (exit 1)', async () => {
    const r = await runSandgate(['ioc', 'scan', 'feed.json', 'rules.yar', 'eicar.ioc', '--scope', tree, '--json', '--cpu-budget', '100'], {
      home,
      cwd: root,
    });
    expect(r.code, r.stderr).toBe(1);
    out = scanOutputSchema.parse(JSON.parse(r.stdout));
    const seen = out.matches
      .map((m) => ({
        path: m.path.slice(tree.length + 1),
        format: m.format,
        iocId: m.iocId,
        file: m.file.slice(root.length + 1),
        terms: m.terms,
      }))
      .sort((a, b) => a.path.localeCompare(b.path));
    expect(seen).toEqual([
      {
        path: 'cache/stage2.bin',
        format: 'stix',
        iocId: BY_HASH,
        file: 'feed.json',
        terms: [`file:hashes.'SHA-256' = ${sha256(files['cache/stage2.bin']!)}`],
      },
      { path: 'docs/dropper.js', format: 'yara', iocId: 'Planted_Marker', file: 'rules.yar', terms: ['$m at offset 9', 'tags: demo'] },
      {
        path: 'downloads/eicar.com',
        format: 'openioc',
        iocId: 'eicar-ioc',
        file: 'eicar.ioc',
        terms: [`FileItem/Sha256sum = ${sha256(EICAR)}`],
      },
      { path: 'tmp/beacon.dat', format: 'stix', iocId: BY_NAME, file: 'feed.json', terms: ['file:name = beacon.dat', 'file:size = 4096'] },
    ]);
  }, 120_000);

  it('names every part it cannot run: a WITHIN qualifier, a URL, a YARA rule that does not compile (with the engine message)', () => {
    expect(out.unsupported.map((u) => [u.file.slice(root.length + 1), u.itemId, u.term])).toEqual([
      ['rules.yar', 'Broken', 'YARA rule Broken (line 6)'],
      ['feed.json', TIMED, 'qualifier WITHIN'],
      ['feed.json', BY_URL, 'url:value'],
    ]);
    expect(out.unsupported[0]!.reason).toMatch(/^YARA_COMPILE_FAILED: error\[E009\]: unknown identifier `undefined_thing`\n --> line:6:/);
    expect(out.termCounts).toEqual({ evaluated: 5, unsupported: 3 });
  });

  it('reads each file once for every format, and says that YARA saw only the first 16 MiB of the large one', () => {
    const total = Object.values(files).reduce((n, b) => n + b.length, 0);
    expect(out.summary.filesSeen).toBe(Object.keys(files).length);
    expect(out.summary.hashed).toBe(Object.keys(files).length);
    expect(out.summary.bytesRead).toBe(total);
    expect(out.notExamined).toContainEqual({
      area: 'yara',
      what: '1 file(s) larger than 16 MiB',
      reason: expect.stringMatching(/first 16 MiB only/),
    });
  });

  it('prints the same to a person: which kind of indicator matched, from which file, and why', async () => {
    const r = await runSandgate(
      ['ioc', 'scan', join(root, 'feed.json'), join(root, 'rules.yar'), join(root, 'eicar.ioc'), '--scope', tree, '--cpu-budget', '100'],
      { home },
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(
      `MATCH  ${join(tree, 'cache/stage2.bin')}  [path]\n       STIX indicator ${BY_HASH} (Stage two) from ${join(root, 'feed.json')}\n       file:hashes.'SHA-256' = `,
    );
    expect(r.stdout).toContain(
      `MATCH  ${join(tree, 'docs/dropper.js')}  [path]\n       YARA rule Planted_Marker (the planted marker) from ${join(root, 'rules.yar')}\n       $m at offset 9`,
    );
    expect(r.stdout).toContain(
      `MATCH  ${join(tree, 'downloads/eicar.com')}  [path]\n       IOC eicar-ioc (EICAR test file) from ${join(root, 'eicar.ioc')}`,
    );
    expect(r.stdout).toContain('[yara] 1 file(s) larger than 16 MiB: YARA rules ran on their first 16 MiB only');
    // Said on stderr before the walk starts, too.
    expect(r.stderr).toMatch(/^3 IOC term\(s\) cannot be evaluated here \(5 can\):/m);
  }, 120_000);

  it('refuses a file that is none of the formats with IOC_FORMAT_UNKNOWN (exit 2), whatever it is called', async () => {
    const r = await runSandgate(['ioc', 'scan', 'hashes.csv', 'eicar.ioc', '--scope', tree, '--json'], { home, cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[IOC_FORMAT_UNKNOWN\]: .*hashes\.csv: starts with neither/m);
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'IOC_FORMAT_UNKNOWN', message: expect.any(String) } });
  });
});
