import { createCipheriv } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanOutputSchema, type ScanOutput } from '@sandgate/shared';
import { splitYaraRules } from '#native-host/ioc/yara-split.ts';
import { sharedData } from '#test-helpers/shared-data.ts';
import { signWithForge } from '#test-helpers/authenticode-forge.ts';
import { makePeFile } from '#test-helpers/pe-file.ts';
import { plantRule, type PlantedSignature } from '#test-helpers/yara-plant.ts';
import { runSandgate } from '../cli/run-sandgate.ts';

// The ReversingLabs YARA rules (MIT, ../shared/data/yara, read where they lie) over a generated tree: for every rule
// whose condition can be satisfied from its own text, a sample is built at test time (test/helpers/yara-plant.ts) and
// planted; `sandgate ioc scan` (the real CLI process, all 274 rule files at once) must name each sample with its rule.
// Rules over Authenticode signatures get a PE signed at test time with a certificate carrying the subject, serial and
// validity the rule names (test/helpers/authenticode-forge.ts). Rules that cannot be planted are counted by reason
// and pinned below, so the numbers in docs/ioc-terms.md are tested.

const yara = sharedData('yara/reversinglabs');
if (!yara.exists) console.log(`yara-planted-samples: ReversingLabs rules ${yara.skipReason}`);

let root: string;
const ruleFiles: string[] = [];
const planted = new Map<string, string>(); // path → rule
const signed: Array<{ rule: string; signature: PlantedSignature }> = [];
let signedDecoys = 0;
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
      if (p.signature) signed.push({ rule: p.rule, signature: p.signature });
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
  // Signed decoys beside a blocklisted certificate: its subject with another serial, its serial with another subject,
  // and both with a not_after earlier than the rule accepts. The model is a rule whose serial no other rule names.
  const serials = new Map<string, number>();
  for (const s of signed) serials.set(s.signature.serial, (serials.get(s.signature.serial) ?? 0) + 1);
  const model = signed.find((s) => serials.get(s.signature.serial) === 1 && Number.isFinite(s.signature.notAfterMin));
  if (model) {
    const m = model.signature;
    for (const [name, fields] of [
      ['other-serial.exe', { ...m, serial: '53:61:6e:64:67:61:74:65' }],
      ['other-subject.exe', { ...m, subjectCommonName: 'Sandgate Decoy Publisher' }],
      ['expired-before.exe', { ...m, notAfter: new Date((m.notAfterMin - 86_400) * 1000) }],
    ] as const) {
      writeFileSync(join(tree, 'decoys', name), signWithForge(makePeFile(), fields));
      decoys.push(join(tree, 'decoys', name));
      signedDecoys++;
    }
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
    yara.exists
      ? 'every rule (1,204 of 1,204, 932 of them over Authenticode signatures) names its planted sample; no rule names a decoy'
      : yara.skipReason,
    () => {
      const byPath = new Map<string, Set<string>>();
      for (const m of out.matches) {
        expect(m.format).toBe('yara');
        byPath.set(m.path, new Set([...(byPath.get(m.path) ?? []), m.iocId]));
      }
      const missed = [...planted].filter(([path, rule]) => !byPath.get(path)?.has(rule)).map(([, rule]) => rule);
      const reasons = [...notPlanted].map(([why, rules]) => `${why}: ${rules.length}`).join('; ') || 'none';
      // Subjects written with OpenSSL's escapes (`\xE6\x97…`, what libyara printed for UTF-8 names): YARA-X prints the
      // UTF-8 itself, so the planted certificate carries the escapes as text, as the rule asks.
      const escaped = signed.filter((s) => s.signature.subjectCommonName.includes('\\x')).length;
      console.log(
        `yara-planted-samples: ${ruleFiles.length} files; ${planted.size} rules planted and found by the scan (${missed.length} missed; ${signed.length} as signed PEs, ${escaped} of them with \\xNN-escaped subjects); not planted: ${reasons}`,
      );
      expect(ruleFiles).toHaveLength(274);
      expect(out.unsupported).toEqual([]);
      expect(missed).toEqual([]);
      expect(planted.size).toBe(1204);
      // The 931 rules of certificate/blocklist.yara and one exploit rule (pe.number_of_signatures > 0) test
      // Authenticode signatures: each got a signed PE.
      expect(signed).toHaveLength(932);
      expect(escaped).toBe(40);
      expect(signedDecoys).toBe(3);
      expect(decoys.filter((d) => byPath.has(d))).toEqual([]);
      expect(Object.fromEntries([...notPlanted].map(([why, rules]) => [why, rules.length]))).toEqual({});
    },
  );
});
