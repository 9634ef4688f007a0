import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const run = promisify(execFile);

const BINS = [
  { name: 'sandgate', shim: 'native-host/bin/sandgate.mjs', pkg: 'native-host/package.json' },
  { name: 'sandgate-lab', shim: 'sandbox-server/bin/sandgate-lab.mjs', pkg: 'sandbox-server/package.json' },
  { name: 'sandgate-console', shim: 'console/bin/sandgate-console.mjs', pkg: 'console/package.json' },
] as const;

const versionOf = (pkg: string): string => {
  const parsed: unknown = JSON.parse(readFileSync(join(ROOT, pkg), 'utf8'));
  if (parsed && typeof parsed === 'object' && 'version' in parsed && typeof parsed.version === 'string') return parsed.version;
  throw new Error(`${pkg} has no version`);
};

describe('NAME --version', () => {
  for (const bin of BINS) {
    it(`${bin.name} --version prints the version of its package and exits 0`, async () => {
      const { stdout, stderr } = await run(process.execPath, [join(ROOT, bin.shim), '--version'], { cwd: ROOT });
      expect(stdout).toBe(`${bin.name} ${versionOf(bin.pkg)}\n`);
      expect(stderr).toBe('');
    });
  }

  it('sandgate --version also answers when its entry point is run directly', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'native-host/src/bin/sandgate.ts'), '--version'], { cwd: ROOT });
    expect(stdout).toBe(`sandgate ${versionOf('native-host/package.json')}\n`);
  });

  it('is no longer an unknown option: sandgate --help lists it', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'native-host/bin/sandgate.mjs'), '--help'], { cwd: ROOT });
    expect(stdout).toContain('--version');
  });
});
