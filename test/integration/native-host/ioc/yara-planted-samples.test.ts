import { createCipheriv } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanOutputSchema, type ScanOutput } from '@sandgate/shared';
import { splitYaraRules } from '#native-host/ioc/yara-split.ts';
import { sharedData } from '#test-helpers/shared-data.ts';
import { plantRule } from '#test-helpers/yara-plant.ts';
import { runSandgate } from '../cli/run-sandgate.ts';

// The ReversingLabs YARA rules (MIT, ../shared/data/yara, read where they lie) over a generated tree: for every rule
// whose condition can be satisfied from its own text, a sample is built at test time (test/helpers/yara-plant.ts) and
// planted; `sandgate ioc scan` (the real CLI process, all 274 rule files at once) must name each sample with its rule.
// Rules that cannot be planted are counted by reason and pinned below, so the numbers in docs/ioc-terms.md are tested.

const yara = sharedData('yara/reversinglabs');
if (!yara.exists) console.log(`yara-planted-samples: ReversingLabs rules ${yara.skipReason}`);

let root: string;
const ruleFiles: string[] = [];
const planted = new Map<string, string>(); // path → rule
const decoys: string[] = [];
const notPlanted = new Map<string, string[]>(); // reason → rules
let out: ScanOutput;

beforeAll(async () => {
  if (!yara.exists) return;
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-yara-plant-')));
  const tree = join(root, 'tree');
  for (const f of (readdirSync(yara.dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.yara')).sort()) {
    ruleFiles.push(join(yara.dir, f));
    const folder = join(tree, f.replace(/\.yara$/, ''));
    for (const r of splitYaraRules(readFileSync(join(yara.dir, f), 'utf8')).rules) {
      const p = plantRule(r.text);
      if ('unplantable' in p) {
        notPlanted.set(p.unplantable, [...(notPlanted.get(p.unplantable) ?? []), p.rule]);
        continue;
      }
      mkdirSync(folder, { recursive: true });
      const path = join(folder, `${p.rule}.bin`);
      writeFileSync(path, p.bytes);
      planted.set(path, p.rule);
    }
  }
  // Decoys no rule may name: random bytes (fixed key, so every run sees the same), a bare MZ and a bare ELF header.
  mkdirSync(join(tree, 'decoys'));
  const random = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 9));
  for (let i = 0; i < 40; i++) {
    const path = join(tree, 'decoys', `random-${i}.bin`);
    writeFileSync(path, random.update(Buffer.alloc(512 + i * 997)));
    decoys.push(path);
  }
  for (const [name, head] of [
    ['mz.exe', Buffer.from('MZ')],
    ['elf', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1])],
  ] as const) {
    writeFileSync(join(tree, 'decoys', name), Buffer.concat([head, Buffer.alloc(8192, 0x90)]));
    decoys.push(join(tree, 'decoys', name));
  }
  const r = await runSandgate(['ioc', 'scan', ...ruleFiles, '--scope', tree, '--json', '--cpu-budget', '100'], {
    home: join(root, 'home'),
  });
  expect(r.code, r.stderr).toBe(1);
  out = scanOutputSchema.parse(JSON.parse(r.stdout));
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('ReversingLabs YARA rules find samples planted from their own text', () => {
  it.skipIf(!yara.exists)(
    yara.exists ? 'every plantable rule (272 of 1,204) names its planted sample; no rule names a decoy' : yara.skipReason,
    () => {
      const byPath = new Map<string, Set<string>>();
      for (const m of out.matches) {
        expect(m.format).toBe('yara');
        byPath.set(m.path, new Set([...(byPath.get(m.path) ?? []), m.iocId]));
      }
      const missed = [...planted].filter(([path, rule]) => !byPath.get(path)?.has(rule)).map(([, rule]) => rule);
      const reasons = [...notPlanted].map(([why, rules]) => `${why}: ${rules.length}`).join('; ');
      console.log(
        `yara-planted-samples: ${ruleFiles.length} files; ${planted.size} rules planted and found by the scan (${missed.length} missed); not planted: ${reasons}`,
      );
      expect(ruleFiles).toHaveLength(274);
      expect(out.unsupported).toEqual([]);
      expect(missed).toEqual([]);
      expect(planted.size).toBe(272);
      expect(decoys.filter((d) => byPath.has(d))).toEqual([]);
      // The 931 rules of certificate/blocklist.yara and one ransomware rule test Authenticode signatures
      // (pe.signatures, pe.number_of_signatures): a sample would need a signed PE, which the planter does not build.
      expect(Object.fromEntries([...notPlanted].map(([why, rules]) => [why, rules.length]))).toEqual({
        'pe.signatures (Authenticode)': 932,
      });
    },
  );
});
