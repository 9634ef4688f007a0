import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { quarantineListItemSchema as quarantineItemSchema } from '@sandgate/shared';
import { quarantineObject } from '../../../../native-host/src/quarantine/quarantine-object.ts';
import { runSandgate } from './run-sandgate.ts';

const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let root: string;
let home: string;
let downloads: string;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-cli-q-')));
  home = join(root, 'home');
  downloads = join(root, 'Downloads');
  mkdirSync(downloads);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function quarantineEicar(name = 'eicar.com', mode = 0o644): Promise<{ id: string; path: string }> {
  const path = join(downloads, name);
  writeFileSync(path, EICAR);
  chmodSync(path, mode);
  const { id } = await quarantineObject({
    home,
    path,
    expectedSha256: sha256(EICAR),
    verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://127.0.0.1:8443' },
    provenance: { source: 'browser', url: 'https://example.test/eicar.com' },
    jobId: 'job-1',
  });
  return { id, path };
}

describe('sandgate quarantine', () => {
  it('list --json prints an array with id, originalPath, sha256, threat and quarantinedAt', async () => {
    const { id, path } = await quarantineEicar();
    const r = await runSandgate(['quarantine', 'list', '--json'], { home });
    expect(r.code).toBe(0);
    const items: unknown = JSON.parse(r.stdout);
    expect(Array.isArray(items)).toBe(true);
    expect(quarantineItemSchema.array().parse(items)).toEqual([
      expect.objectContaining({ id, originalPath: path, sha256: sha256(EICAR), threat: 'EICAR-Test-File', quarantinedAt: expect.any(String) }),
    ]);
  });

  it('list --json prints [] for a quarantine that was never used, and creates nothing', async () => {
    const r = await runSandgate(['quarantine', 'list', '--json'], { home });
    expect(r).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(existsSync(home)).toBe(false);
  });

  it('list names the items in a readable table', async () => {
    const { id, path } = await quarantineEicar();
    const r = await runSandgate(['quarantine', 'list'], { home });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${id}.*EICAR-Test-File.*${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('show prints the whole record, including where it came from', async () => {
    const { id } = await quarantineEicar();
    const r = await runSandgate(['quarantine', 'show', id], { home });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('https://example.test/eicar.com');
    expect(r.stdout).toContain(sha256(EICAR));
    expect(r.stdout).toMatch(/mode\s+0644/);
  });

  it('restore brings the file back byte-identical with its permissions', async () => {
    const { id, path } = await quarantineEicar('tool.sh', 0o750);
    const r = await runSandgate(['quarantine', 'restore', id, '--json'], { home });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ id, path });
    expect(readFileSync(path)).toEqual(EICAR);
    expect(statSync(path).mode & 0o777).toBe(0o750);
    expect((await runSandgate(['quarantine', 'list', '--json'], { home })).stdout).toBe('[]\n');
  });

  it('restore --to a relative folder resolves it from the working directory', async () => {
    const { id } = await quarantineEicar();
    mkdirSync(join(root, 'second-opinion'));
    const r = await runSandgate(['quarantine', 'restore', id, '--to', 'second-opinion'], { home, cwd: root });
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'second-opinion', 'eicar.com'))).toEqual(EICAR);
  });

  it('restore over an existing file fails with error[RESTORE_TARGET_EXISTS] and exit 2', async () => {
    const { id, path } = await quarantineEicar();
    writeFileSync(path, 'mine');
    const r = await runSandgate(['quarantine', 'restore', id, '--json'], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[RESTORE_TARGET_EXISTS\]: .+\n$/);
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'RESTORE_TARGET_EXISTS', message: expect.any(String) } });
    expect(readFileSync(path, 'utf8')).toBe('mine');
  });

  it('two restores started at once: exactly one succeeds, the file arrives once, intact', async () => {
    const { id, path } = await quarantineEicar();
    const results = await Promise.all([runSandgate(['quarantine', 'restore', id], { home }), runSandgate(['quarantine', 'restore', id], { home })]);
    const codes = results.map((r) => r.code).sort();
    expect(codes).toEqual([0, 2]);
    const loser = results.find((r) => r.code === 2)!;
    expect(loser.stderr).toMatch(/^error\[(QUARANTINE_ITEM_BUSY|QUARANTINE_ITEM_NOT_FOUND)\]/);
    expect(readFileSync(path)).toEqual(EICAR);
  });

  it('delete removes the item and the event log says so', async () => {
    const { id } = await quarantineEicar();
    expect((await runSandgate(['quarantine', 'delete', id], { home })).code).toBe(0);
    expect((await runSandgate(['quarantine', 'list', '--json'], { home })).stdout).toBe('[]\n');
    const ev = await runSandgate(['events', '--json'], { home });
    expect(ev.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ type: 'quarantine-deleted', quarantineId: id })]);
  });

  it('an unknown id is error[QUARANTINE_ITEM_NOT_FOUND] with exit 2', async () => {
    const r = await runSandgate(['quarantine', 'show', '0123456789abcdef0123456789abcdef'], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[QUARANTINE_ITEM_NOT_FOUND\]: /);
  });

  it('export is refused with a coded usage error for now', async () => {
    const { id } = await quarantineEicar();
    const r = await runSandgate(['quarantine', 'export', id, '--out', join(root, 'x.zip')], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[USAGE\]: .*not available yet/);
  });
});

describe('sandgate command line', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await runSandgate(['--help'], { home: join(root, 'h') });
    expect(r.code).toBe(0);
    for (const c of ['serve', 'submit', 'status', 'events', 'quarantine', 'install', 'policy check']) expect(r.stdout).toContain(c);
  });

  it('an unknown command or option is error[USAGE] with exit 2, also as JSON', async () => {
    const a = await runSandgate(['frobnicate'], { home: join(root, 'h') });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^error\[USAGE\]: unknown command "frobnicate"/);
    const b = await runSandgate(['quarantine', 'list', '--bogus', '--json'], { home: join(root, 'h') });
    expect(b.code).toBe(2);
    expect(JSON.parse(b.stdout)).toEqual({ error: { code: 'USAGE', message: expect.stringContaining('--bogus') } });
  });

  it('works when started by whatever node is first on the system PATH (re-executing the pinned one if it is old)', async () => {
    const path = (process.env.PATH ?? '').split(delimiter).filter((d) => !d.includes('node_modules')).join(delimiter);
    const { id } = await quarantineEicar();
    const { spawnSync } = await import('node:child_process');
    const { SHIM } = await import('./run-sandgate.ts');
    const r = spawnSync('/usr/bin/env', ['node', SHIM, 'quarantine', 'list', '--json'], { env: { ...process.env, PATH: path, SANDGATE_HOME: home }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)[0].id).toBe(id);
  });
});
