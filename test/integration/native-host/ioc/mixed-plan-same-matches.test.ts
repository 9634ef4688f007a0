import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanMatch } from '@sandgate/shared';
import { compileIocFiles, type IocFileInput } from '#native-host/ioc/load-ioc-files.ts';
import { runScan } from '#native-host/scan/run-scan.ts';

// One plan of OpenIOC, STIX and YARA must find exactly what each format finds alone, listed in walk order, whether the
// files are read and hashed on the scan's thread or on hashing threads that send the YARA bytes back (the overlap of
// hashing and YARA, issue 18). The tree mixes files each format names, files two or three formats name, small files
// (read synchronously) and large ones (read in chunks), and a marker past the bytes YARA sees.

const MIB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MARKER = 'SANDGATE-MIXED-PLAN-MARKER';

let root: string;
let tree: string;
const hashed: Buffer[] = [];

const openioc = (i: number, h: string): IocFileInput => ({
  file: `h${i}.ioc`,
  bytes: Buffer.from(
    `<?xml version="1.0"?><OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="h${i}"><metadata><short_description>h${i}</short_description></metadata><criteria><Indicator operator="OR" id="o${i}"><IndicatorItem id="i${i}" condition="is"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="string">${h}</Content></IndicatorItem></Indicator></criteria></OpenIOC>`,
  ),
});
const stix = (hashes: string[]): IocFileInput => ({
  file: 'feed.json',
  bytes: Buffer.from(
    JSON.stringify({
      type: 'bundle',
      id: 'bundle--b1b1b1b1-0000-4000-8000-000000000000',
      objects: [
        ...hashes.map((h, i) => ({
          type: 'indicator',
          spec_version: '2.1',
          id: `indicator--b1b1b1b1-0000-4000-8000-${String(i).padStart(12, '0')}`,
          created: '2026-01-01T00:00:00Z',
          modified: '2026-01-01T00:00:00Z',
          pattern: `[file:hashes.'SHA-256' = '${h}']`,
          pattern_type: 'stix',
          valid_from: '2026-01-01T00:00:00Z',
        })),
        {
          type: 'indicator',
          spec_version: '2.1',
          id: 'indicator--b1b1b1b1-0000-4000-8000-100000000000',
          created: '2026-01-01T00:00:00Z',
          modified: '2026-01-01T00:00:00Z',
          pattern: "[file:name = 'named.bin']",
          pattern_type: 'stix',
          valid_from: '2026-01-01T00:00:00Z',
        },
      ],
    }),
  ),
});
const yara = (body: string): IocFileInput => ({ file: 'rules.yar', bytes: Buffer.from(body) });
const RULES = yara(
  [
    `rule Marker { strings: $m = "${MARKER}" condition: $m }`,
    'rule Mz_With_Marker { strings: $m = "MIXED-PLAN" condition: uint16(0) == 0x5A4D and $m }',
  ].join('\n'),
);

let openiocFiles: IocFileInput[];
let stixFile: IocFileInput;

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-mixed-plan-')));
  tree = join(root, 'tree');
  let n = 0;
  const put = (rel: string, bytes: Buffer, hash: boolean) => {
    mkdirSync(join(tree, rel, '..'), { recursive: true });
    writeFileSync(join(tree, rel), bytes);
    if (hash) hashed.push(bytes);
    n++;
  };
  // 600 files over 12 folders, so reads go out in batches; every 7th is named by hash, every 5th carries the marker,
  // every 11th starts with MZ; every 50th is large (1.5 MiB, past the synchronous path).
  for (let i = 0; i < 600; i++) {
    const big = i % 50 === 3;
    const head = i % 11 === 0 ? 'MZ' : 'xx';
    const body = Buffer.alloc(big ? 1.5 * MIB : 200 + ((i * 37) % 3000), i % 251);
    const marker = i % 5 === 0 ? Buffer.from(MARKER) : Buffer.alloc(0);
    put(join(`d${i % 12}`, `f${String(i).padStart(4, '0')}.bin`), Buffer.concat([Buffer.from(head), body, marker]), i % 7 === 0);
  }
  put('named/named.bin', Buffer.from('found by name alone'), false);
  // Past the first 16 MiB YARA reads: its hash is named, its marker is not seen.
  put('big/past-prefix.img', Buffer.concat([Buffer.alloc(16 * MIB + 10), Buffer.from(MARKER)]), true);
  expect(n).toBe(602);
  const hashes = hashed.map(sha256);
  openiocFiles = hashes.map((h, i) => openioc(i, h));
  // STIX names every other hashed file, so some files are named by one format, some by two, some by all three.
  stixFile = stix(hashes.filter((_, i) => i % 2 === 0));
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

async function scan(inputs: IocFileInput[], threads: boolean): Promise<ScanMatch[]> {
  const plan = compileIocFiles(inputs);
  const out = await runScan({
    kind: 'ioc',
    scope: [tree],
    indicators: [{ set: plan.set, source: 'ioc' }],
    maxFileBytes: 1024 * MIB,
    cpuBudgetPercent: 100,
    // Threads from the first read, whatever the machine's load; or none at all.
    hashThreads: threads ? 2 : 0,
    hashThreadsAfter: 0,
    hashThreadsMinCores: 0,
  });
  expect(out.errors).toEqual([]);
  return out.matches;
}

describe('one plan of three formats', () => {
  it('finds exactly what each format finds alone, in walk order, with and without hashing threads', async () => {
    const order = new Map((await scan([yara('rule Every_File { condition: true }')], false)).map((m, i) => [m.path, i]));
    expect(order.size).toBe(602);
    const alone = [...(await scan(openiocFiles, false)), ...(await scan([stixFile], false)), ...(await scan([RULES], false))];
    const rank = { openioc: 0, stix: 1, yara: 2 } as const;
    // Walk order of the files; within a file, the formats in plan order (OpenIOC, STIX, YARA), each in its own order.
    const expected = alone
      .map((m, i) => ({ m, i }))
      .sort((a, b) => order.get(a.m.path)! - order.get(b.m.path)! || rank[a.m.format!] - rank[b.m.format!] || a.i - b.i)
      .map(({ m }) => m);
    const counts = (ms: ScanMatch[]) =>
      Object.fromEntries(['openioc', 'stix', 'yara'].map((f) => [f, ms.filter((m) => m.format === f).length]));
    // 86 hashed small files + the large one by each OpenIOC file; STIX half of them and the named file; YARA: 120
    // markers (none past the prefix) and the MZ files with a marker.
    expect(counts(expected)).toEqual({ openioc: 87, stix: 45, yara: 120 + 11 });
    expect(await scan([...openiocFiles, stixFile, RULES], false)).toEqual(expected);
    expect(await scan([...openiocFiles, stixFile, RULES], true)).toEqual(expected);
  }, 120_000);
});
