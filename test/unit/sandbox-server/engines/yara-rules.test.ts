import { mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createYaraEngine, loadYaraBinding } from '#lab/engines/yara-rules.ts';
import { silentLogger } from '#lab/log.ts';
import { levelOf, runEngine } from './run-engine.ts';

const MARKER_RULE = `
rule Demo_Marker : demo {
  meta:
    threat = "Demo.Marker.A"
  strings:
    $text = "SANDGATE-DEMO-MARKER"
    $hex = { DE AD BE EF 00 5A }
  condition:
    any of them
}`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-yara-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const engine = (maxScanBytes?: number) => createYaraEngine({ rulesDir: dir, log: silentLogger, ...(maxScanBytes ? { maxScanBytes } : {}) });

describe('YARA-X rules engine', () => {
  it('loads the YARA-X binding installed from the npm registry', () => {
    expect(loadYaraBinding()).not.toBeNull();
  });

  it('judges an object matching an administrator rule malicious, with the threat from the rule meta', async () => {
    writeFileSync(join(dir, 'demo.yar'), MARKER_RULE);
    const f = await runEngine(engine(), Buffer.from('header ... SANDGATE-DEMO-MARKER ... trailer'));
    expect(levelOf(f)).toBe('malicious');
    expect(f.threat).toBe('Demo.Marker.A');
    expect(f.indicators).toContainEqual({ type: 'yara-rule', value: 'Demo_Marker', source: 'yara-x' });
    expect(levelOf(await runEngine(engine(), Buffer.from('nothing here')))).toBe('clean');
  });

  it('matches a hex string that straddles the analyser chunk boundary', async () => {
    writeFileSync(join(dir, 'demo.yar'), MARKER_RULE);
    const data = Buffer.concat([Buffer.alloc(1000, 0x41), Buffer.from('deadbeef005a', 'hex'), Buffer.alloc(1000, 0x42)]);
    const f = await runEngine(engine(), data, { chunkSize: 1003 });
    expect(f.threat).toBe('Demo.Marker.A');
  });

  it('honours level and score meta for rules meant as weak indicators', async () => {
    writeFileSync(join(dir, 'weak.yara'), 'rule Packed_Hint { meta: level = "suspicious" score = 20 strings: $u = "UPX!" condition: $u }');
    const f = await runEngine(engine(), Buffer.from('....UPX!....'));
    expect(levelOf(f)).toBe('suspicious');
    expect(f.score).toBe(20);
    expect(f.threat).toBe('Packed_Hint');
  });

  it('skips a broken rule file and keeps the others working', async () => {
    writeFileSync(join(dir, 'a-broken.yar'), 'rule Broken { strings: $a = "x" condition: $b }');
    writeFileSync(join(dir, 'demo.yar'), MARKER_RULE);
    expect((await runEngine(engine(), Buffer.from('SANDGATE-DEMO-MARKER'))).threat).toBe('Demo.Marker.A');
  });

  it('picks up a rule added while running, and ignores rule files that are symbolic links', async () => {
    const e = engine();
    expect(levelOf(await runEngine(e, Buffer.from('SANDGATE-DEMO-MARKER')))).toBe('clean');
    writeFileSync(join(dir, 'outside.txt'), MARKER_RULE);
    symlinkSync(join(dir, 'outside.txt'), join(dir, 'linked.yar'));
    expect(levelOf(await runEngine(e, Buffer.from('SANDGATE-DEMO-MARKER')))).toBe('clean');
    writeFileSync(join(dir, 'demo.yar'), MARKER_RULE);
    utimesSync(join(dir, 'demo.yar'), new Date(), new Date(Date.now() + 5000));
    expect(levelOf(await runEngine(e, Buffer.from('SANDGATE-DEMO-MARKER')))).toBe('malicious');
  });

  it('scans only the first maxScanBytes of a large object and says so', async () => {
    writeFileSync(join(dir, 'demo.yar'), MARKER_RULE);
    const early = Buffer.concat([Buffer.from('SANDGATE-DEMO-MARKER'), Buffer.alloc(8192)]);
    const hit = await runEngine(engine(4096), early, { chunkSize: 1000 });
    expect(hit.threat).toBe('Demo.Marker.A');
    expect(hit.results[0]?.detail).toContain('scanned the first 4096 of 8212 bytes');
    const late = Buffer.concat([Buffer.alloc(8192), Buffer.from('SANDGATE-DEMO-MARKER')]);
    const miss = await runEngine(engine(4096), late);
    expect(levelOf(miss)).toBe('clean');
    expect(miss.results[0]?.detail).toContain('scanned the first 4096');
  });

  it('fingerprints its rule files by content: a new or changed rule changes it, a touch does not', async () => {
    const e = engine();
    const none = await e.inputs!();
    writeFileSync(join(dir, 'demo.yar'), MARKER_RULE);
    const one = await e.inputs!();
    expect(one).not.toBe(none);
    utimesSync(join(dir, 'demo.yar'), new Date(), new Date(Date.now() + 5000));
    expect(await e.inputs!()).toBe(one);
    writeFileSync(join(dir, 'demo.yar'), MARKER_RULE.replace('Demo.Marker.A', 'Demo.Marker.B'));
    utimesSync(join(dir, 'demo.yar'), new Date(), new Date(Date.now() + 10_000));
    expect(await e.inputs!()).not.toBe(one);
  });
});
