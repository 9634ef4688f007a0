import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { quarantineListItemSchema as quarantineItemSchema } from '@sandgate/shared';
import { runSandgate } from './run-sandgate.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

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
  const { id } = await QuarantineStore.open(home).quarantine({
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
      expect.objectContaining({
        id,
        originalPath: path,
        sha256: sha256(EICAR),
        threat: 'EICAR-Test-File',
        quarantinedAt: expect.any(String),
      }),
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
    const results = await Promise.all([
      runSandgate(['quarantine', 'restore', id], { home }),
      runSandgate(['quarantine', 'restore', id], { home }),
    ]);
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
    expect(
      ev.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([expect.objectContaining({ type: 'quarantine-deleted', quarantineId: id })]);
  });

  it('an unknown id is error[QUARANTINE_ITEM_NOT_FOUND] with exit 2', async () => {
    const r = await runSandgate(['quarantine', 'show', '0123456789abcdef0123456789abcdef'], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[QUARANTINE_ITEM_NOT_FOUND\]: /);
  });

  it('export writes a ZIP analysts open with the password "infected": the sample byte-identical and its description', async () => {
    const { id } = await quarantineEicar();
    const out = join(root, 'sample.zip');
    const r = await runSandgate(['quarantine', 'export', id, '--out', out, '--json'], { home });
    expect(r.code).toBe(0);
    const sha = sha256(EICAR);
    expect(JSON.parse(r.stdout)).toMatchObject({
      id,
      path: out,
      sha256: sha,
      entries: [`${sha}.com`, `${sha}.json`],
      password: 'infected',
    });
    const unzipDir = join(root, 'unzipped');
    execFileSync('unzip', ['-q', '-P', 'infected', out, '-d', unzipDir]);
    expect(readFileSync(join(unzipDir, `${sha}.com`)).equals(EICAR)).toBe(true);
    expect(JSON.parse(readFileSync(join(unzipDir, `${sha}.json`), 'utf8'))).toMatchObject({
      fileName: 'eicar.com',
      sha256: sha,
      verdict: { level: 'malicious', threat: 'EICAR-Test-File' },
      source: { url: 'https://example.test/eicar.com' },
    });
    // The archive is meant to leave the organisation: the user's folders are not in it.
    expect(readFileSync(join(unzipDir, `${sha}.json`), 'utf8')).not.toContain(downloads);
    // Exporting does not take the item out of quarantine.
    const listed = await runSandgate(['quarantine', 'list', '--json'], { home });
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id })]);
    const events = readFileSync(join(home, 'events', 'events.jsonl'), 'utf8');
    expect(events).toContain('"type":"quarantine-exported"');
  });

  it('the exported sample cannot be read without the password, and --password sets another one', async () => {
    const { id } = await quarantineEicar();
    const out = join(root, 'sample.zip');
    expect((await runSandgate(['quarantine', 'export', id, '--out', out, '--password', 's3cret'], { home })).code).toBe(0);
    expect(readFileSync(out).includes(EICAR)).toBe(false);
    expect(() => execFileSync('unzip', ['-q', '-P', 'infected', out, '-d', join(root, 'wrong')], { stdio: 'pipe' })).toThrow();
    execFileSync('unzip', ['-q', '-P', 's3cret', out, '-d', join(root, 'right')]);
    expect(readFileSync(join(root, 'right', `${sha256(EICAR)}.com`)).equals(EICAR)).toBe(true);
  });

  it('export never overwrites a file and never writes through a link at --out', async () => {
    const { id } = await quarantineEicar();
    const existing = join(root, 'report.zip');
    writeFileSync(existing, 'keep me');
    const r1 = await runSandgate(['quarantine', 'export', id, '--out', existing], { home });
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/^error\[RESTORE_TARGET_EXISTS\]: /);
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
    const link = join(root, 'link.zip');
    symlinkSync(join(root, 'elsewhere.zip'), link);
    const r2 = await runSandgate(['quarantine', 'export', id, '--out', link], { home });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/^error\[RESTORE_TARGET_UNSAFE\]: .*symbolic link/);
    expect(existsSync(join(root, 'elsewhere.zip'))).toBe(false);
  });

  it('an item whose stored content was tampered with is not exported, and no archive is left behind', async () => {
    const { id } = await quarantineEicar();
    const blob = join(home, 'quarantine', `${id}.blob`);
    const bytes = readFileSync(blob);
    bytes[bytes.length - 20]! ^= 0x01;
    writeFileSync(blob, bytes);
    const out = join(root, 'sample.zip');
    const r = await runSandgate(['quarantine', 'export', id, '--out', out], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[QUARANTINE_ITEM_CORRUPT\]: /);
    expect(readdirSync(root).filter((n) => n.includes('sample.zip'))).toEqual([]);
  });

  it('export without --out is a usage error', async () => {
    const { id } = await quarantineEicar();
    const r = await runSandgate(['quarantine', 'export', id], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[USAGE\]: .*--out/);
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
    const path = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((d) => !d.includes('node_modules'))
      .join(delimiter);
    const { id } = await quarantineEicar();
    const { spawnSync } = await import('node:child_process');
    const { SHIM } = await import('./run-sandgate.ts');
    const r = spawnSync('/usr/bin/env', ['node', SHIM, 'quarantine', 'list', '--json'], {
      env: { ...process.env, PATH: path, SANDGATE_HOME: home },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)[0].id).toBe(id);
  });
});
