import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SandgateError } from '@sandgate/shared';
import { MAX_DEPTH, MAX_PATTERN_CHARS, parseStixPattern } from '@sandgate/shared/stix-pattern';
import { sharedData } from '#test-helpers/shared-data.ts';

const stix = sharedData('stix');
if (!stix.exists) console.log(`stix-pattern-parser: corpus cases ${stix.skipReason}`);

function code(pattern: string): string | undefined {
  try {
    parseStixPattern(pattern);
    return undefined;
  } catch (err) {
    return err instanceof SandgateError ? err.code : `not coded: ${String(err)}`;
  }
}

describe('the STIX 2.1 pattern parser', () => {
  it.skipIf(!stix.exists)(
    stix.exists ? 'agrees with the OASIS reference validator on every case of patterns.txt (77 valid, 27 invalid)' : stix.skipReason,
    () => {
      const disagree: string[] = [];
      const counts = { VALID: 0, INVALID: 0 };
      for (const line of readFileSync(join(stix.dir, 'patterns.txt'), 'utf8').split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const [verdict, pattern] = line.split('\t') as ['VALID' | 'INVALID', string];
        counts[verdict]++;
        const c = code(pattern);
        if (verdict === 'VALID' ? c !== undefined : c !== 'STIX_PATTERN_INVALID') disagree.push(`${verdict} ${pattern}: ${c ?? 'parsed'}`);
      }
      expect(counts).toEqual({ VALID: 77, INVALID: 27 });
      expect(disagree).toEqual([]);
    },
  );

  it.skipIf(!stix.exists)(
    stix.exists ? "parses every example of the specification (the validator's spec_examples, 2.0 and 2.1)" : stix.skipReason,
    () => {
      const failed: string[] = [];
      let n = 0;
      for (const v of ['v20', 'v21']) {
        for (const line of readFileSync(join(stix.dir, `cti-pattern-validator/stix2patterns/test/${v}/spec_examples.txt`), 'utf8').split(
          '\n',
        )) {
          if (!line.trim()) continue;
          n++;
          if (code(line)) failed.push(line);
        }
      }
      expect(n).toBe(47);
      expect(failed).toEqual([]);
    },
  );

  it('builds the tree with the precedence of the grammar: FOLLOWEDBY < OR < AND, in brackets too', () => {
    const t = parseStixPattern(
      "[file:name = 'a' OR file:name = 'b' AND file:size > 10] OR [process:name = 'x'] FOLLOWEDBY [file:size = 1] WITHIN 5 SECONDS",
    );
    expect(t.kind).toBe('followedby');
    if (t.kind !== 'followedby') return;
    expect(t.children.map((c) => c.kind)).toEqual(['or', 'qualified']);
    const first = t.children[0]!;
    if (first.kind !== 'or') return;
    const inner = first.children[0]!;
    expect(inner.kind === 'observation' && inner.comparison.kind).toBe('or');
    if (inner.kind === 'observation' && inner.comparison.kind === 'or')
      expect(inner.comparison.children.map((c) => c.kind)).toEqual(['compare', 'and']);
  });

  it("reads literals as STIX writes them: quoted keys, \\' and \\\\ escapes, h'', b'', t'', negative and float numbers", () => {
    const t = parseStixPattern(
      "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:name = 'it\\'s \\\\ x' AND file:magic_number_hex = h'FFD8' AND artifact:payload_bin = b'AAA=' AND x:t = t'2024-01-15T12:30:45.5Z' AND x:n > -2 AND x:f < 7.5]",
    );
    expect(t.kind).toBe('observation');
    if (t.kind !== 'observation' || t.comparison.kind !== 'and') throw new Error('shape');
    const values = t.comparison.children.map((c) => (c.kind === 'compare' ? [c.path.text, c.value] : []));
    expect(values).toEqual([
      ["file:hashes.'SHA-256'", { kind: 'string', value: 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' }],
      ['file:name', { kind: 'string', value: "it's \\ x" }],
      ['file:magic_number_hex', { kind: 'hex', value: 'ffd8' }],
      ['artifact:payload_bin', { kind: 'binary', value: 'AAA=' }],
      ['x:t', { kind: 'timestamp', value: '2024-01-15T12:30:45.5Z' }],
      ['x:n', { kind: 'int', value: -2 }],
      ['x:f', { kind: 'float', value: 7.5 }],
    ]);
  });

  it('names the position of a syntax error in a coded error', () => {
    try {
      parseStixPattern("[file:name = 'a' AND ]", 'bundle.json indicator--1');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SandgateError);
      expect((err as SandgateError).code).toBe('STIX_PATTERN_INVALID');
      expect((err as SandgateError).message).toMatch(/^bundle\.json indicator--1: at 21: expected an object type .*found "\]"/);
    }
  });
});

describe('a hostile pattern gets a coded error or a bound, never a hang or a stack overflow', () => {
  it(`refuses a pattern longer than ${MAX_PATTERN_CHARS} characters before reading it`, () => {
    const long = `[file:name = '${'a'.repeat(MAX_PATTERN_CHARS)}']`;
    expect(code(long)).toBe('STIX_PATTERN_INVALID');
    expect(() => parseStixPattern(long)).toThrow(/pattern is \d+ characters; the limit is 1048576/);
  });

  it(`refuses parentheses nested deeper than ${MAX_DEPTH}, in observations and in comparisons`, () => {
    const deepObs = `${'('.repeat(MAX_DEPTH + 1)}[file:size = 1]${')'.repeat(MAX_DEPTH + 1)}`;
    const deepCmp = `[${'('.repeat(MAX_DEPTH + 1)}file:size = 1${')'.repeat(MAX_DEPTH + 1)}]`;
    expect(() => parseStixPattern(deepObs)).toThrow(/nested deeper than 32/);
    expect(() => parseStixPattern(deepCmp)).toThrow(/nested deeper than 32/);
    // 100,000 unclosed parentheses (well within the length limit) still end in the same coded error.
    expect(code('('.repeat(100_000))).toBe('STIX_PATTERN_INVALID');
    expect(code(`[file:size = 1]${' OR ('.repeat(30_000)}`)).toBe('STIX_PATTERN_INVALID');
  });

  it('parses 15,000 ORed hashes (a real feed size) as one flat list, without recursion', () => {
    const hashes = Array.from({ length: 15_000 }, (_, i) => `file:hashes.MD5 = '${i.toString(16).padStart(32, '0')}'`);
    const t = parseStixPattern(`[${hashes.join(' OR ')}]`);
    expect(t.kind === 'observation' && t.comparison.kind === 'or' && t.comparison.children.length).toBe(15_000);
  });

  it('rejects what the grammar rejects: unclosed strings, other escapes, bad hashes, bare words', () => {
    for (const p of [
      "[file:name = 'abc]",
      "[file:name = 'a\\nb']",
      "[file:hashes.MD5 = 'xyz']",
      '[file:name = abc]',
      "[file:name = 'a'] within 2 seconds",
      '[file:size = 01]',
    ]) {
      expect(code(p), p).toBe('STIX_PATTERN_INVALID');
    }
  });
});
