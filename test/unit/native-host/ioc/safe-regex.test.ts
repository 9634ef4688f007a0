import { describe, expect, it } from 'vitest';
import { compileSafeRegex } from '#native-host/ioc/safe-regex.ts';
import { fileObservation, setOf } from './ioc-helpers.ts';

describe('"matches" patterns cannot hang a scan', () => {
  it('answers a catastrophic-backtracking pattern against a hostile 100,000-character name (no match, no hang)', async () => {
    const set = setOf(['redos-1.1.ioc']);
    const hostile = fileObservation(`/tmp/${'a'.repeat(100_000)}!`, 'x');
    expect(await set.match(hostile)).toEqual([]);
    expect(await set.match(fileObservation('/tmp/aaaa', 'x'))).toHaveLength(1);
  });

  it('reports a backreference as an unsupported term with the reason, and keeps the rest of the OR', () => {
    const set = setOf(['redos-1.1.ioc']);
    expect(set.unsupported).toEqual([
      expect.objectContaining({
        itemId: 'backreference',
        term: 'FileItem/FileName',
        reason: expect.stringContaining('needs backtracking'),
      }),
    ]);
    expect(set.termCounts).toEqual({ evaluated: 1, unsupported: 1 });
  });

  it('refuses lookahead, which the linear engine cannot run, and runs lookbehind, which it can', () => {
    expect(compileSafeRegex('foo(?=bar)', false)).toMatchObject({ ok: false });
    expect(compileSafeRegex('(?!x)y', false)).toMatchObject({ ok: false });
    const behind = compileSafeRegex('(?<!x)y', false);
    expect(behind.ok && [behind.test('xy'), behind.test('zy')]).toEqual([false, true]);
  });

  it('runs counted repetitions above 16 (split for the linear engine) with the same meaning', () => {
    const re = compileSafeRegex('^[0-9a-f]{18}\\.dat$', false);
    expect(re.ok && re.test('0123456789abcdef01.dat')).toBe(true);
    expect(re.ok && re.test('0123456789abcdef0.dat')).toBe(false);
    const range = compileSafeRegex('^x{2,40}$', false);
    expect(range.ok && [range.test('x'), range.test('xx'), range.test('x'.repeat(40)), range.test('x'.repeat(41))]).toEqual([
      false,
      true,
      true,
      false,
    ]);
    const open = compileSafeRegex('^y{20,}$', false);
    expect(open.ok && [open.test('y'.repeat(19)), open.test('y'.repeat(200))]).toEqual([false, true]);
  });

  it('matches without regard to case by folding literals, but keeps the meaning of escapes like \\W and \\S', () => {
    const re = compileSafeRegex('\\\\Temp\\\\[A-F0-9]{8}\\W\\S+', true);
    expect(re.ok && re.test('C:\\TEMP\\0badc0de-1234')).toBe(true);
    expect(re.ok && re.test('C:\\TEMP\\0badc0de1234')).toBe(false);
  });

  it('says what is wrong with a pattern that is not a regular expression', () => {
    expect(compileSafeRegex('(unclosed', false)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('invalid regular expression'),
    });
  });
});
