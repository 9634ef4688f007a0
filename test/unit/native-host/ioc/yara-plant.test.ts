import { describe, expect, it } from 'vitest';
import type { FileObservation } from '#native-host/ioc/observation.ts';
import { compileYaraFiles } from '#native-host/ioc/yara-rule-set.ts';
import { plantRule } from '#test-helpers/yara-plant.ts';

// The planter (test/helpers/yara-plant.ts) builds the samples the ReversingLabs corpus test plants. Here it meets the
// YARA features that corpus does not use, and YARA-X itself judges each sample: a planter that wrote the wrong bytes
// would be caught here rather than hide behind the corpus test's counts.

const observe = (bytes: Buffer): FileObservation => ({
  document: 'FileItem',
  fullPath: '/t/sample',
  fileName: 'sample',
  fileExtension: '',
  size: bytes.length,
  modified: new Date(0),
  hashes: async () => ({}),
  content: async (max: number) => bytes.subarray(0, max),
});

async function matches(rule: string, bytes: Buffer): Promise<boolean> {
  const set = compileYaraFiles([{ file: 'r.yar', source: rule }]).set!;
  return (await set.match(observe(bytes))).length > 0;
}

const RULES: Record<string, string> = {
  alternatives_nibbles_jumps: 'rule a { strings: $h = { 4D 5A ( 90 | 00 01 ) ?? 4? ?7 [2-4] ~00 [-] FF } condition: $h }',
  text_escapes_wide_xor: String.raw`rule b { strings: $t = "tab\there \"q\" \x41" $w = "wide" wide $x = "xored" xor(3-9) $f = "word" fullword nocase condition: all of them }`,
  counts_offsets_filesize:
    'rule c { strings: $a = "AA" $b = { 01 02 } condition: uint32be(4) == 0xCAFEBABE and #a >= 3 and $b at 16 and $a in (0..100) and filesize > 2KB }',
  n_of_with_or:
    'rule d { strings: $p1 = "one" $p2 = "two" $p3 = "three" condition: (false_branch_is_skipped or 2 of ($p*)) and uint8(0) == 0x7F }',
  pe_entry_point:
    'import "pe" rule e { strings: $ep = { 55 8B EC } $s = "later" condition: uint16(0) == 0x5A4D and $ep at pe.entry_point and $s }',
  elf_entry_point: 'import "elf" rule f { strings: $ep = { 31 ED 5E } condition: $ep at elf.entry_point }',
  // Authenticode: issuer, a quoted subject, the second of two serials (YARA-X prints lower case, so the first can
  // never match), both dates bounded from either side, `verified` (the planted signature is genuine).
  signature_fields: String.raw`import "pe" rule g { condition: uint16(0) == 0x5A4D and for any i in (0..pe.number_of_signatures): (
    pe.signatures[i].issuer contains "Evil CA" and pe.signatures[i].subject contains "ACME \"Ltd\"" and
    (pe.signatures[i].serial == "0A:0B" or pe.signatures[i].serial == "8f:00:01") and
    1262304000 <= pe.signatures[i].not_before and pe.signatures[i].not_after < 1900000000 and pe.signatures[i].verified) }`,
  signed_with_strings:
    'import "pe" rule h { strings: $s = "payload" condition: uint16(0) == 0x5A4D and $s and pe.number_of_signatures > 0 }',
};

describe('planting samples from a YARA rule', () => {
  for (const [name, rule] of Object.entries(RULES)) {
    it(`builds a sample YARA-X matches: ${name.replace(/_/g, ' ')}`, async () => {
      const p = plantRule(rule.replace('false_branch_is_skipped', 'pe.is_dll()'));
      if (!('bytes' in p)) throw new Error(p.unplantable);
      expect(await matches(rule.replace('false_branch_is_skipped', 'false'), p.bytes)).toBe(true);
    });
  }

  it('names what it cannot plant instead of guessing', () => {
    const why = (rule: string) => {
      const p = plantRule(rule);
      return 'unplantable' in p ? p.unplantable : 'planted';
    };
    expect(why('rule a { strings: $r = /ab+c/ condition: $r }')).toBe('regular expression string');
    expect(why('rule a { strings: $b = "x" base64 condition: $b }')).toBe('base64 modifier');
    expect(why('rule a { strings: $s = "x" condition: not $s }')).toBe('negation (not)');
    expect(why('import "pe" rule a { condition: pe.number_of_sections == 2 }')).toBe('module value pe.number_of_sections');
    const sig = (body: string) => why(`import "pe" rule a { condition: for any i in (0..pe.number_of_signatures): (${body}) }`);
    expect(sig('pe.signatures[i].thumbprint == "00"')).toBe('pe.signatures[i].thumbprint ==');
    expect(sig('pe.signatures[i].subject == "/CN=x"')).toBe('pe.signatures[i].subject ==');
    expect(sig('pe.signatures[i].serial == "0A:0B"')).toBe('pe.signatures[i].serial not as YARA-X prints one');
    expect(sig('pe.signatures[i].not_after < 5 and pe.signatures[i].not_after > 9')).toBe('pe.signatures[i].not_after > 9');
    expect(why('import "pe" rule a { condition: for all i in (0..pe.number_of_signatures): (pe.signatures[i].serial == "01") }')).toBe(
      'pe.signatures (Authenticode)',
    );
    expect(why('rule a { strings: $s = "x" condition: for all of them : (# > 1) }')).toBe('for loop');
    expect(why('rule a { strings: $s = "0123456789" condition: $s and filesize < 4 }')).toBe('filesize < 4 leaves no room for the strings');
  });
});
