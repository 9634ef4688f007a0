import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHashBlocklistEngine, parseBlocklist } from '#lab/engines/hash-blocklist.ts';
import { silentLogger } from '#lab/log.ts';
import { levelOf, runEngine } from './run-engine.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-blocklist-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('sha256 blocklist', () => {
  it('reads hashes with threat names, skips comments and reports unreadable lines', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    const { entries, badLines } = parseBlocklist(`# corporate blocklist\n\n${a} Trojan.Demo  \n${b}\nnot-a-hash Foo\n`);
    expect(entries.get(a)).toBe('Trojan.Demo');
    expect(entries.get('b'.repeat(64))).toBe('Blocklisted');
    expect(badLines).toEqual([5]);
  });

  it('judges a listed object malicious with the administrator threat name, and others clean', async () => {
    const bad = Buffer.from('an object the administrator banned');
    writeFileSync(join(dir, 'blocklist.txt'), `${sha(bad)} Corp.Banned.Tool\n`);
    const engine = createHashBlocklistEngine({ path: join(dir, 'blocklist.txt'), log: silentLogger });
    const hit = await runEngine(engine, bad);
    expect(levelOf(hit)).toBe('malicious');
    expect(hit.threat).toBe('Corp.Banned.Tool');
    expect(levelOf(await runEngine(engine, Buffer.from('something else')))).toBe('clean');
  });

  it('takes an edited list into account on the next object, without a restart', async () => {
    const obj = Buffer.from('added later');
    const path = join(dir, 'blocklist.txt');
    const engine = createHashBlocklistEngine({ path, log: silentLogger });
    expect(levelOf(await runEngine(engine, obj))).toBe('clean');
    writeFileSync(path, `${sha(obj)} Added.Later\n`);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect((await runEngine(engine, obj)).threat).toBe('Added.Later');
  });

  it('works without a list, and refuses a list that is a symbolic link', async () => {
    const obj = Buffer.from('linked');
    const engine = createHashBlocklistEngine({ path: join(dir, 'blocklist.txt'), log: silentLogger });
    expect(levelOf(await runEngine(engine, obj))).toBe('clean');
    writeFileSync(join(dir, 'elsewhere.txt'), `${sha(obj)} Via.Link\n`);
    symlinkSync(join(dir, 'elsewhere.txt'), join(dir, 'blocklist.txt'));
    expect(levelOf(await runEngine(engine, obj))).toBe('clean');
  });

  it('fingerprints its entries, not its text: a comment or a reordering changes nothing, an entry does', async () => {
    const path = join(dir, 'blocklist.txt');
    const engine = createHashBlocklistEngine({ path, log: silentLogger });
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    writeFileSync(path, `${a} One\n${b} Two\n`);
    const first = await engine.inputs!();
    writeFileSync(path, `# reordered, with a comment\n${b} Two\n\n${a} One\n`);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(await engine.inputs!()).toBe(first);
    writeFileSync(path, `${a} One\n${b} Two\n${'c'.repeat(64)} Three\n`);
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    const third = await engine.inputs!();
    expect(third).not.toBe(first);
    // A scan reports the fingerprint of the list it judged with.
    const scan = await engine.open({ sha256: a, size: 1 });
    expect(scan.inputs).toBe(third);
  });
});
