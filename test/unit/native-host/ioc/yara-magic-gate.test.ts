import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileObservation } from '#native-host/ioc/observation.ts';
import { passesGate, ruleMagic, splitByMagic, type MagicCheck } from '#native-host/ioc/yara-magic-gate.ts';
import { compileYaraFiles } from '#native-host/ioc/yara-rule-set.ts';
import { splitYaraRules } from '#native-host/ioc/yara-split.ts';
import { sharedData } from '#test-helpers/shared-data.ts';

const observe = (path: string, bytes: Buffer): FileObservation => ({
  document: 'FileItem',
  fullPath: path,
  fileName: path.split('/').pop()!,
  fileExtension: '',
  size: bytes.length,
  modified: new Date(0),
  hashes: async () => ({}),
  content: async (max: number) => bytes.subarray(0, max),
});

const MZ: MagicCheck = { offset: 0, bytes: 2, bigEndian: false, value: 0x5a4d };

describe('the magic-number gate in front of YARA', () => {
  it('reads a number at a fixed offset ANDed at the top level of a condition, however it is written', () => {
    expect(ruleMagic('rule a { strings: $s = "x" condition: uint16(0) == 0x5A4D and $s }')).toEqual(MZ);
    expect(ruleMagic('rule a { condition: $s and ((uint16(0) == 23117)) and #s > 2 }')).toEqual(MZ);
    expect(ruleMagic('rule a { condition: 0x464C457F == uint32(0) and (any of them) }')).toEqual({
      offset: 0,
      bytes: 4,
      bigEndian: false,
      value: 0x464c457f,
    });
    expect(ruleMagic('rule a { condition: uint32be(4) == 0xCAFEBABE /* and */ and $s }')).toEqual({
      offset: 4,
      bytes: 4,
      bigEndian: true,
      value: 0xcafebabe,
    });
  });

  it('finds none where the number does not decide the rule: or, not, another comparison, a meta value that looks like one', () => {
    for (const rule of [
      'rule a { condition: uint16(0) == 0x5A4D or $s }',
      'rule a { condition: (uint16(0) == 0x5A4D and $a) or $b }',
      'rule a { condition: not uint16(0) == 0x5A4D and $s }',
      'rule a { condition: uint16(0) != 0x5A4D and $s }',
      'rule a { condition: uint16(uint32(0x3C)) == 0x4550 and $s }',
      'rule a { meta: d = "condition: uint16(0) == 0x5A4D and" condition: $s }',
      'rule a { condition: other_rule and $s }',
      'rule a { condition: uint8(0) == 0x1FF and $s }',
    ])
      expect(ruleMagic(rule), rule).toBeUndefined();
  });

  it('splits a set into rules with such a number and the rest; private or global rules keep it whole', () => {
    const a = 'rule a { condition: uint16(0) == 0x5A4D and $s }';
    const b = 'rule b { condition: $s }';
    const c = 'rule c { condition: uint16(0) == 0x5A4D }';
    expect(splitByMagic([a, b, c])).toEqual({ gated: [a, c], open: [b], checks: [MZ] });
    expect(splitByMagic([a, 'private rule p { condition: true }'])).toEqual({
      gated: [],
      open: [a, 'private rule p { condition: true }'],
      checks: [],
    });
    expect(passesGate([MZ], Buffer.from('MZ\x90'))).toBe(true);
    expect(passesGate([MZ], Buffer.from('ZM\x90'))).toBe(false);
    expect(passesGate([MZ], Buffer.from('M'))).toBe(false);
  });

  it('keeps files without the number from YARA, says how many, and loses no match', async () => {
    const gated = compileYaraFiles([
      { file: 'g.yar', source: 'rule Pe_Marker { strings: $m = "GATE-MARKER" condition: uint16(0) == 0x5A4D and $m }' },
    ]).set!;
    const pe = observe('/t/pe', Buffer.from('MZ..GATE-MARKER'));
    const text = observe('/t/text', Buffer.from('..GATE-MARKER'));
    expect((await gated.match(pe)).map((m) => m.iocId)).toEqual(['Pe_Marker']);
    expect(await gated.match(text)).toEqual([]);
    expect(gated.notes!()).toEqual([
      { area: 'yara', what: '1 file(s) not given to YARA', reason: expect.stringContaining('uint16(0) == 0x5A4D') },
    ]);

    // A rule without a number sees every file, and finds the text file; the gated rule still sees only the PE.
    const mixed = compileYaraFiles([
      { file: 'g.yar', source: 'rule Pe_Marker { strings: $m = "GATE-MARKER" condition: uint16(0) == 0x5A4D and $m }' },
      { file: 'o.yar', source: 'rule Any_Marker { strings: $m = "GATE-MARKER" condition: $m }' },
    ]).set!;
    expect((await mixed.match(text)).map((m) => m.iocId)).toEqual(['Any_Marker']);
    expect((await mixed.match(pe)).map((m) => m.iocId).sort()).toEqual(['Any_Marker', 'Pe_Marker']);
    expect(mixed.notes!()).toEqual([
      {
        area: 'yara',
        what: '1 file(s) not given to the rules that need a number at a fixed offset',
        reason: expect.stringContaining('the other rules saw them'),
      },
    ]);
  });

  const rl = sharedData('yara/reversinglabs');
  it.skipIf(!rl.exists)(
    rl.exists ? 'holds for 1,200 of the 1,204 ReversingLabs rules (MZ or ELF at offset 0); four have a top-level or' : rl.skipReason,
    () => {
      const rules = (readdirSync(rl.dir, { recursive: true }) as string[])
        .filter((f) => f.endsWith('.yara'))
        .flatMap((f) => splitYaraRules(readFileSync(join(rl.dir, f), 'utf8')).rules);
      expect(rules).toHaveLength(1204);
      const split = splitByMagic(rules.map((r) => r.text));
      expect(split.gated).toHaveLength(1200);
      expect(split.open.map((t) => /rule\s+(\w+)/.exec(t)?.[1]).sort()).toEqual([
        'Win32_Ransomware_DMALocker',
        'Win32_Ransomware_FenixLocker',
        'Win32_Ransomware_Xorist',
        'Win32_Trojan_Emotet',
      ]);
      expect(split.checks).toEqual([MZ, { offset: 0, bytes: 4, bigEndian: false, value: 0x464c457f }]);
    },
  );
});
