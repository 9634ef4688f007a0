import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HUNT_MAX_FILE_BYTES, SandgateError } from '@sandgate/shared';
import { checkHuntFile } from '#console/hunts/check-hunt-file.ts';
import { objectIoc } from '#console/group-tasks/object-ioc.ts';
import { listDecision, type TaskGuard } from '#native-host/tasks/task-guard.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const codeOf = (bytes: Uint8Array, name = 'f'): string => {
  try {
    checkHuntFile(bytes, name);
  } catch (err) {
    return err instanceof SandgateError ? err.code : `not coded: ${String(err)}`;
  }
  return 'accepted';
};
const indicator = (pattern: string, extra: Record<string, unknown> = {}) => ({
  type: 'indicator',
  id: 'indicator--1f3a9b62-0e4d-4c1a-8b7f-2d5e6a7c8b90',
  pattern,
  pattern_type: 'stix',
  ...extra,
});

describe("the console's check of an operator's hunt file", () => {
  it('tells the three formats by content, whatever the name, and counts what the agents will run', () => {
    const yara = checkHuntFile(enc('// rules\nrule a { condition: true }\nprivate rule b { condition: a }\n'), 'x.json');
    expect(yara.file).toMatchObject({ format: 'yara', indicators: 2, name: 'x.json' });
    const stix = checkHuntFile(enc(JSON.stringify(indicator("[file:name = 'a.exe'] OR [file:size = 7]"))), 'x.yar');
    expect(stix.file).toMatchObject({ format: 'stix', indicators: 1 });
    const xml = objectIoc({ sha256: 'a'.repeat(64), size: 7 });
    const ioc = checkHuntFile(enc(xml), 'x.txt');
    expect(ioc.file).toMatchObject({ format: 'openioc', indicators: 2, sha256: createHash('sha256').update(xml).digest('hex') });
    expect(ioc.text).toBe(xml);
  });

  it('refuses a file over the cap by its size alone, before any parsing (a valid rule file included)', () => {
    const big = enc('rule a { condition: true }\n'.padEnd(HUNT_MAX_FILE_BYTES + 1, ' '));
    expect(codeOf(big)).toBe('CONSOLE_HUNT_FILE_TOO_LARGE');
    expect(codeOf(enc('rule a { condition: true }\n'.padEnd(HUNT_MAX_FILE_BYTES, ' ')))).toBe('accepted');
  });

  it('gives each kind of bad file its code', () => {
    expect(codeOf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 0]))).toBe('IOC_FORMAT_UNKNOWN');
    expect(codeOf(enc(''))).toBe('IOC_FORMAT_UNKNOWN');
    expect(codeOf(enc('{"no": "type"}'))).toBe('IOC_FORMAT_UNKNOWN');
    expect(codeOf(enc('{"type": "bundle"'))).toBe('STIX_PARSE_FAILED');
    expect(codeOf(enc(JSON.stringify({ type: 'malware', id: 'malware--1f3a9b62-0e4d-4c1a-8b7f-2d5e6a7c8b90' })))).toBe('STIX_PARSE_FAILED');
    expect(codeOf(enc(JSON.stringify(indicator("[file:name = 'a.exe'"))))).toBe('STIX_PATTERN_INVALID');
    expect(codeOf(enc(JSON.stringify(indicator('rule a { condition: true }', { pattern_type: 'yara' }))))).toBe(
      'CONSOLE_HUNT_FILE_INVALID',
    );
    expect(codeOf(enc('<ioc xmlns="urn:other"/>'))).toBe('IOC_UNSUPPORTED_VERSION');
    expect(codeOf(enc('<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1"'))).toBe('IOC_PARSE_FAILED');
    expect(codeOf(enc('rule a { strings: $x = "a" condition: $y }'))).toBe('YARA_COMPILE_FAILED');
    expect(codeOf(enc('import "pe"\n'))).toBe('CONSOLE_HUNT_FILE_INVALID');
    expect(codeOf(new Uint8Array([...enc('rule a { condition: true } // '), 0xff, 0xfe]))).toBe('CONSOLE_HUNT_FILE_INVALID');
    expect(codeOf(enc('rule a { condition: true } // \u0000'))).toBe('CONSOLE_HUNT_FILE_INVALID');
  });

  it('refuses a rule file that reads other files (include is off, as on the agents)', () => {
    expect(codeOf(enc('include "/etc/passwd"\nrule a { condition: true }'))).toBe('YARA_COMPILE_FAILED');
  });
});

describe("a hunt's guard on the workstation (issue 18)", () => {
  const guard: TaskGuard = {
    source: 'console',
    consoleTaskId: 'c',
    groupTaskId: 'g',
    dryRun: false,
    neverQuarantine: { paths: ['/keep'], sha256: [], publishers: [] },
    objectSha256: 'f'.repeat(64),
    awaitingWitness: false,
    hunt: true,
  };

  it('lets a witnessed hunt quarantine any match it hashed, and only those', () => {
    expect(listDecision(guard, { path: '/home/a/x.bin', sha256: 'a'.repeat(64) })).toBeUndefined();
    expect(listDecision(guard, { path: '/home/a/x.bin' })).toEqual({ why: 'not-the-object' });
    expect(listDecision({ ...guard, hunt: undefined }, { path: '/home/a/x.bin', sha256: 'a'.repeat(64) })).toEqual({
      why: 'not-the-object',
    });
  });

  it('still holds a hunt to never-quarantine, dry run and its witness', () => {
    expect(listDecision(guard, { path: '/keep/x.bin', sha256: 'a'.repeat(64) })).toEqual({ why: 'never-quarantine', rule: 'path' });
    expect(listDecision({ ...guard, dryRun: true }, { path: '/x', sha256: 'a'.repeat(64) })).toEqual({ why: 'dry-run' });
    expect(listDecision({ ...guard, awaitingWitness: true }, { path: '/x', sha256: 'a'.repeat(64) })).toEqual({ why: 'awaiting-witness' });
  });
});
