import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { scanOutputSchema, type ScanOutput } from '@sandgate/shared';

/**
 * Attack: a user (or malware running as the user) plants "unit files" in their own systemd folder, which a root IOC
 * scan reads for ServiceItem terms: a drop-in that is a FIFO (a read blocks forever), one that links to /dev/zero (a
 * read never ends and eats memory), a unit file of several GiB. Each would stall or kill the scan that is supposed
 * to find the malware. Defence: unit files and drop-ins are opened without blocking and read only when they end at a
 * regular file of at most 1 MiB; the rest is listed as not examined. The scan runs in a child process so that a
 * regression shows as a timeout here instead of hanging the test runner.
 */

const RUN_SCAN = pathToFileURL(join(import.meta.dirname, '../../native-host/src/scan/run-scan.ts')).href;
const PARSE = pathToFileURL(join(import.meta.dirname, '../../shared/src/ioc/parse-openioc.ts')).href;
const COMPILE = pathToFileURL(join(import.meta.dirname, '../../native-host/src/ioc/compile-indicator-set.ts')).href;

const IOC = `<?xml version="1.0"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="agent-service">
  <metadata><short_description>the user's agent service</short_description><authored_date>2026-01-01T00:00:00Z</authored_date></metadata>
  <criteria><Indicator operator="OR" id="top">
    <IndicatorItem id="n" condition="is" preserve-case="false" negate="false"><Context document="ServiceItem" search="ServiceItem/name" type="mir"/><Content type="string">agent</Content></IndicatorItem>
    <IndicatorItem id="h" condition="is" preserve-case="false" negate="false"><Context document="ServiceItem" search="ServiceItem/name" type="mir"/><Content type="string">huge</Content></IndicatorItem>
  </Indicator></criteria>
</OpenIOC>`;

describe.runIf(process.platform === 'linux')('a user plants unit files that would stall a root scan', () => {
  let root: string;
  let home: string;

  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-planted-units-')));
    home = join(root, 'home', 'mallory');
    const units = join(home, '.config/systemd/user');
    mkdirSync(join(units, 'agent.service.d'), { recursive: true });
    writeFileSync(join(units, 'agent.service'), '[Unit]\nDescription=Agent\n[Service]\nExecStart=/usr/bin/true\n');
    // Drop-ins are read in name order: the FIFO first, so a blocking read would stop the scan right there.
    expect(spawnSync('mkfifo', [join(units, 'agent.service.d', 'a-fifo.conf')]).status).toBe(0);
    symlinkSync('/dev/zero', join(units, 'agent.service.d', 'b-zero.conf'));
    writeFileSync(join(units, 'huge.service'), '[Service]\nExecStart=/usr/bin/true\n');
    truncateSync(join(units, 'huge.service'), 3 * 1024 ** 3); // sparse: 3 GiB on paper, nothing on disk
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finishes, evaluates what it could read, and lists the planted files as not examined', async () => {
    const script = `
      import { runScan } from ${JSON.stringify(RUN_SCAN)};
      import { parseOpenIoc } from ${JSON.stringify(PARSE)};
      import { compileIndicatorSet } from ${JSON.stringify(COMPILE)};
      const set = compileIndicatorSet([{ file: 'agent.ioc', ioc: parseOpenIoc(${JSON.stringify(IOC)}, 'agent.ioc') }], { platform: 'linux' });
      const out = await runScan({
        kind: 'ioc', scope: [${JSON.stringify(root)}], indicators: [{ set, source: 'ioc' }], maxFileBytes: 1 << 20, cpuBudgetPercent: 100,
        systemObjects: { unitDirs: { system: [], user: [], home: ['.config/systemd/user'] }, homes: [${JSON.stringify(home)}] },
      });
      process.stdout.write(JSON.stringify(out));
    `;
    const child = spawn(process.execPath, ['--max-old-space-size=256', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('did not finish within 30 s');
      }, 30_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c ?? 'killed');
      });
    });
    expect(code, stderr).toBe(0);
    const out: ScanOutput = scanOutputSchema.parse(JSON.parse(stdout));
    // Both services are found by name: padding a unit file must not hide it either.
    expect(out.matches.map((m) => m.origin).sort()).toEqual([
      `systemd user unit of ${home} agent.service (static, active state unknown)`,
      `systemd user unit of ${home} huge.service (unit file not read, active state unknown)`,
    ]);
    const units = join(home, '.config/systemd/user');
    expect(out.notExamined).toEqual(
      expect.arrayContaining([
        {
          area: 'service',
          what: `${units}/agent.service.d/a-fifo.conf (systemd user unit of ${home} agent.service)`,
          reason: 'not a regular file: not read',
        },
        {
          area: 'service',
          what: `${units}/agent.service.d/b-zero.conf (systemd user unit of ${home} agent.service)`,
          reason: 'not a regular file: not read',
        },
      ]),
    );
    // A unit file too large to be one is not read.
    expect(out.notExamined).toContainEqual({
      area: 'service',
      what: `${units}/huge.service (systemd user unit of ${home} huge.service)`,
      reason: 'larger than 1048576 bytes: not read',
    });
  }, 60_000);
});
