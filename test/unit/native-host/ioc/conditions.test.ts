import { describe, expect, it } from 'vitest';
import type { Observation, ProcessObservation } from '#native-host/ioc/observation.ts';
import { compileText, fileObservation, ioc11, item, or } from './ioc-helpers.ts';

const proc = (args: string, extra: Partial<ProcessObservation> = {}): ProcessObservation => ({
  document: 'ProcessItem',
  pid: 4242,
  name: 'Updater',
  path: '/tmp/Updater',
  arguments: args,
  ...extra,
});

async function matches(xmlItem: string, o: Observation): Promise<boolean> {
  const set = compileText(ioc11(or(xmlItem)));
  expect(set.unsupported).toEqual([]);
  return (await set.match(o)).length === 1;
}

describe('each condition, as an IOC author expects it', () => {
  const cmd = proc('/tmp/Updater --c2=Evil.Example:4444 --quiet');
  const cases: [string, string, string, boolean][] = [
    ['is', 'arguments', '/tmp/updater --c2=evil.example:4444 --quiet', true],
    ['is', 'arguments', '/tmp/Updater', false],
    ['isnot', 'arguments', '/tmp/Updater', true],
    ['isnot', 'arguments', '/TMP/UPDATER --C2=EVIL.EXAMPLE:4444 --QUIET', false],
    ['contains', 'arguments', 'EVIL.example', true],
    ['contains', 'arguments', 'benign', false],
    ['containsnot', 'arguments', 'benign', true],
    ['containsnot', 'arguments', '--quiet', false],
    ['starts-with', 'arguments', '/TMP/', true],
    ['starts-with', 'arguments', '--c2', false],
    ['ends-with', 'arguments', '--QUIET', true],
    ['ends-with', 'arguments', '4444', false],
    ['matches', 'arguments', '--c2=\\S+:\\d{2,5}\\b', true],
    ['matches', 'arguments', '^--c2', false],
  ];
  for (const [condition, field, content, expected] of cases) {
    it(`ProcessItem/${field} ${condition} "${content}" is ${expected} for "${cmd.arguments}"`, async () => {
      expect(await matches(item(`ProcessItem/${field}`, condition, content), cmd)).toBe(expected);
    });
  }

  it('greater-than and less-than compare numbers (ports, pids, sizes)', async () => {
    expect(await matches(item('ProcessItem/pid', 'greater-than', '4000', { type: 'int' }), cmd)).toBe(true);
    expect(await matches(item('ProcessItem/pid', 'greater-than', '4242', { type: 'int' }), cmd)).toBe(false);
    expect(await matches(item('ProcessItem/pid', 'less-than', '5000', { type: 'int' }), cmd)).toBe(true);
    expect(await matches(item('ProcessItem/pid', 'less-than', '100', { type: 'int' }), cmd)).toBe(false);
  });

  it('greater-than and less-than compare dates', async () => {
    const f = fileObservation('/home/u/Downloads/a.exe', 'x', new Date('2024-05-01T12:00:00Z'));
    expect(await matches(item('FileItem/Modified', 'greater-than', '2024-04-30T00:00:00Z', { type: 'date' }), f)).toBe(true);
    expect(await matches(item('FileItem/Modified', 'less-than', '2024-04-30T00:00:00Z', { type: 'date' }), f)).toBe(false);
    expect(await matches(item('FileItem/Modified', 'is', '2024-05-01T00:00:00Z TO 2024-05-02T00:00:00Z', { type: 'date' }), f)).toBe(true);
  });

  it('"is" takes an inclusive TO range for integers, with or without brackets', async () => {
    const f = fileObservation('/x/a.bin', 'y'.repeat(50_000));
    expect(await matches(item('FileItem/SizeInBytes', 'is', '49600 TO 50700', { type: 'int' }), f)).toBe(true);
    expect(await matches(item('FileItem/SizeInBytes', 'is', '[50000 TO 50000]', { type: 'int' }), f)).toBe(true);
    expect(await matches(item('FileItem/SizeInBytes', 'is', '50001 TO 60000', { type: 'int' }), f)).toBe(false);
  });

  it('preserve-case="true" makes string comparisons exact', async () => {
    expect(await matches(item('ProcessItem/name', 'is', 'updater', { preserveCase: true }), cmd)).toBe(false);
    expect(await matches(item('ProcessItem/name', 'is', 'Updater', { preserveCase: true }), cmd)).toBe(true);
    expect(await matches(item('ProcessItem/arguments', 'matches', 'EVIL', { preserveCase: true }), cmd)).toBe(false);
    expect(await matches(item('ProcessItem/arguments', 'matches', 'Evil', { preserveCase: true }), cmd)).toBe(true);
  });

  it('negate="true" inverts any condition, and cancels an isnot', async () => {
    expect(await matches(item('ProcessItem/name', 'starts-with', 'upd', { negate: true }), cmd)).toBe(false);
    expect(await matches(item('ProcessItem/name', 'starts-with', 'bash', { negate: true }), cmd)).toBe(true);
    expect(await matches(item('ProcessItem/name', 'isnot', 'updater', { negate: true }), cmd)).toBe(true);
  });

  it('a missing value is false whatever the condition, negated or not', async () => {
    const noPath = proc('x', { path: undefined });
    expect(await matches(item('ProcessItem/path', 'contains', 'tmp'), noPath)).toBe(false);
    expect(await matches(item('ProcessItem/path', 'contains', 'tmp', { negate: true }), noPath)).toBe(false);
    expect(await matches(item('ProcessItem/path', 'isnot', '/usr/bin/x'), noPath)).toBe(false);
  });

  it('an IP "matches" with a CIDR block tests membership, for IPv4 and IPv6', async () => {
    const port = (remoteIP: string): Observation => ({
      document: 'PortItem',
      protocol: 'tcp',
      localIP: '10.0.0.2',
      localPort: 50000,
      remoteIP,
      remotePort: 443,
      isIPv6: remoteIP.includes(':'),
    });
    expect(await matches(item('PortItem/remoteIP', 'matches', '203.0.113.0/24', { type: 'IP' }), port('203.0.113.99'))).toBe(true);
    expect(await matches(item('PortItem/remoteIP', 'matches', '203.0.113.0/24', { type: 'IP' }), port('203.0.114.1'))).toBe(false);
    expect(await matches(item('PortItem/remoteIP', 'matches', '2001:db8::/32', { type: 'IP' }), port('2001:DB8::1'))).toBe(true);
    expect(await matches(item('PortItem/remoteIP', 'is', '2001:DB8::1', { type: 'IP' }), port('2001:db8::1'))).toBe(true);
  });

  it('hashes compare without regard to case, even with preserve-case', async () => {
    const f = fileObservation('/x/eicar.com', 'X5O');
    const md5 = (await f.hashes(new Set(['md5']))).md5!.toUpperCase();
    expect(await matches(item('FileItem/Md5sum', 'is', md5, { type: 'md5', preserveCase: true }), f)).toBe(true);
  });

  it('a condition that does not fit the term type is an unsupported term, with the reason', () => {
    const set = compileText(
      ioc11(or(item('FileItem/SizeInBytes', 'contains', '12', { type: 'int' }), item('ProcessItem/name', 'greater-than', 'a'))),
    );
    expect(set.unsupported.map((u) => u.reason)).toEqual([
      expect.stringContaining('condition "contains" does not apply to int term FileItem/SizeInBytes'),
      expect.stringContaining('condition "greater-than" does not apply to string term ProcessItem/name'),
    ]);
    expect(set.termCounts).toEqual({ evaluated: 0, unsupported: 2 });
  });

  it('an integer term with content that is not a number is unsupported, not silently false', () => {
    const set = compileText(ioc11(or(item('PortItem/remotePort', 'is', 'https', { type: 'int' }))));
    expect(set.unsupported[0]?.reason).toContain('"https" is not an integer');
  });
});
