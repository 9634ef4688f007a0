import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanOutputSchema, type ScanOutput } from '@sandgate/shared';
import { SHIM } from '../cli/run-sandgate.ts';

/**
 * `sandgate ioc scan` with hashing threads (`--cpu-budget 100` on a machine with two cores or more) and without
 * (`--cpu-budget 50` on two cores; SANDGATE_SCAN_THREADS=always starts them at once, however busy the machine), run as the user launches it (the bin shim: the bundle when it matches the sources)
 * and from the TypeScript entry: the thread's module must load in both. As root, the scan runs as nobody (setpriv), so
 * a file it may not read is in the tree.
 */
const TS_ENTRY = fileURLToPath(new URL('../../../../native-host/src/bin/sandgate.ts', import.meta.url));
const asRoot = process.getuid?.() === 0;
const canDrop = asRoot && spawnSync('setpriv', ['--version']).status === 0;
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const sha = (b: string) => createHash('sha256').update(b).digest('hex');

let root: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-scan-threads-')));
  chmodSync(root, 0o755);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function ioc(): string {
  return `<?xml version="1.0"?><OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="eicar"><metadata><short_description>EICAR</short_description></metadata><criteria><Indicator operator="OR" id="o"><IndicatorItem id="h" condition="is"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="string">${sha(EICAR)}</Content></IndicatorItem></Indicator></criteria></OpenIOC>`;
}

function scan(entry: string, budget: number): Omit<ScanOutput, 'startedAt' | 'finishedAt'> {
  const home = join(root, `home-${budget}-${entry === SHIM ? 'shim' : 'ts'}`);
  mkdirSync(home, { mode: 0o777 });
  chmodSync(home, 0o777);
  const args = [entry, 'ioc', 'scan', join(root, 'eicar.ioc'), '--scope', join(root, 'tree'), '--json', '--cpu-budget', String(budget)];
  const r = spawnSync(
    canDrop ? 'setpriv' : process.execPath,
    canDrop ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args] : args,
    {
      env: { ...process.env, SANDGATE_POLICY: '', SANDGATE_HOME: home, HOME: home, SANDGATE_SCAN_THREADS: 'always' },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(r.status, r.stderr).toBe(1);
  const { startedAt: _s, finishedAt: _f, ...out } = scanOutputSchema.parse(JSON.parse(r.stdout));
  return { ...out, summary: { ...out.summary, elapsedMs: 0, throttledMs: 0 } };
}

describe('sandgate ioc scan with hashing threads', () => {
  it.skipIf(asRoot && !canDrop)(
    asRoot && !canDrop
      ? 'skipped: as root it needs setpriv to scan as another user'
      : 'gives the same result with threads, without, from the bundle and from the sources',
    () => {
      const tree = join(root, 'tree');
      // SANDGATE_SCAN_THREADS=always: the threads start at the first read, whatever the machine's load.
      for (let d = 0; d < 8; d++) {
        mkdirSync(join(tree, `d${d}`), { recursive: true });
        for (let f = 0; f < 60; f++) writeFileSync(join(tree, `d${d}`, `f${f}.txt`), `file ${d}/${f}`);
      }
      writeFileSync(join(tree, 'd2', 'eicar.com'), EICAR);
      writeFileSync(join(tree, 'd6', 'eicar-too.com'), EICAR);
      writeFileSync(join(tree, 'd4', 'secret.com'), EICAR);
      chmodSync(join(tree, 'd4', 'secret.com'), 0o000);
      symlinkSync(join(tree, 'd2', 'eicar.com'), join(tree, 'd5', 'link.com'));
      writeFileSync(join(root, 'eicar.ioc'), ioc());

      const threaded = scan(SHIM, 100);
      expect(threaded.matches.map((m) => m.path)).toEqual([join(tree, 'd2', 'eicar.com'), join(tree, 'd6', 'eicar-too.com')]);
      expect(threaded.errors).toEqual([expect.objectContaining({ path: join(tree, 'd4', 'secret.com'), code: 'EACCES' })]);
      expect(threaded.summary).toMatchObject({ filesSeen: 483, hashed: 482, errors: 1, linksSkipped: 1, matches: 2 });
      expect(scan(TS_ENTRY, 100)).toEqual(threaded);
      // On two cores, half the machine is one core: no threads. (On one core neither run has threads.)
      if (availableParallelism() === 2) expect(scan(SHIM, 50)).toEqual(threaded);
    },
  );
});
