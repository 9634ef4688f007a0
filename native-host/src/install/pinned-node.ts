import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandgateError } from '@sandgate/shared';

/** The repository (or installed package) root: native-host/src/install → ../../.. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The real binary of the Node 22 pinned by the npm `node` package. Browsers launch hosts with a bare PATH, and the
 * system node may be 20, which cannot run our TypeScript; so launchers name this binary by absolute path.
 * The package links it to node_modules/node/bin/node and keeps the original in node-<os>-<arch>/bin/node.
 */
export function resolvePinnedNode(root: string = REPO_ROOT, platform: NodeJS.Platform = process.platform): string {
  const exe = platform === 'win32' ? 'node.exe' : 'node';
  const pkg = `node-${platform === 'win32' ? 'win' : platform}-${process.arch}`;
  const candidates = [
    join(root, 'node_modules', 'node', 'node_modules', pkg, 'bin', exe),
    join(root, 'node_modules', pkg, 'bin', exe),
    join(root, 'node_modules', 'node', 'bin', exe),
  ];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    try {
      accessSync(c, constants.X_OK);
      return realpathSync(c);
    } catch {
      // not executable; try the next
    }
  }
  // Not installed through npm (a packaged build): the node running us is good enough when it is new enough.
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  throw new SandgateError('INSTALL_FAILED', 'the pinned Node 22 was not found under node_modules; run npm ci', {
    params: { tried: candidates },
  });
}
