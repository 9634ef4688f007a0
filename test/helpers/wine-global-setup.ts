import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freshCompiled } from '../../shared/bin/source-stamp.mjs';
import { REPO_ROOT, prepareWineNode, wineEnv } from './wine-node.ts';

/**
 * Before the `windows` tier: the Windows Node and the Wine prefix are prepared (once; cached in node_modules/.cache),
 * and the CLI bundle is rebuilt when it no longer matches the sources. The Windows Node runs the bundle, never the
 * TypeScript: Wine shows the workspace link node_modules/@sandgate/shared as a plain folder, and Node refuses to strip
 * types from a file under node_modules (docs/decisions.md).
 */
export default function setup(): void | (() => void) {
  const w = prepareWineNode((line) => process.stdout.write(`windows tier: ${line}\n`));
  if (!w.available) {
    process.stdout.write(`windows tier: every test is skipped: ${w.reason}\n`);
    return;
  }
  const dist = join(REPO_ROOT, 'native-host', 'dist');
  const entry = pathToFileURL(join(dist, 'bin', 'sandgate.js'));
  if (!freshCompiled(entry, pathToFileURL(join(dist, 'stamp.json')))) {
    process.stdout.write('windows tier: rebuilding the CLI bundle (native-host/dist) the Windows Node runs\n');
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-cli.ts')], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('scripts/build-cli.ts failed: the windows tier has no bundle to run');
  }
  // Afterwards, whatever a test left running in the tier's prefix (and its wineserver) is stopped.
  const prefix = w.prefix;
  return () => void spawnSync('wineserver', ['-k'], { env: wineEnv(prefix), stdio: 'ignore', timeout: 30_000 });
}
