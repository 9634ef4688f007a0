import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freshCompiled } from '../../../shared/bin/source-stamp.mjs';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIST = join(ROOT, 'native-host', 'dist');
const tmp = mkdtempSync(join(tmpdir(), 'sandgate-compiled-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sandgate and sandgate-native-host compiled at install time', () => {
  it('npm ci left a bundle that matches the sources (the postinstall ran scripts/build-cli.ts)', () => {
    const entry = pathToFileURL(join(DIST, 'bin', 'sandgate.js'));
    expect(freshCompiled(entry, pathToFileURL(join(DIST, 'stamp.json')))?.href, 'run `npm run build:cli`').toBe(entry.href);
    expect(existsSync(join(DIST, 'bin', 'native-host.js'))).toBe(true);
  });

  it("keeps Node's compile cache beside the bundle, never in the shared temporary folder", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, SANDGATE_HOME: join(tmp, 'home') };
    delete env.NODE_COMPILE_CACHE;
    const r = spawnSync(process.execPath, [join(ROOT, 'native-host/bin/sandgate.mjs'), '--help'], { env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(readdirSync(tmp).filter((n) => n !== 'home')).toEqual([]);
    expect(readdirSync(join(DIST, 'compile-cache')).length).toBeGreaterThan(0);
  });
});
