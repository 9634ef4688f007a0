#!/usr/bin/env node
// npm bin shim for sandgate-lab. Our sources are TypeScript run by Node's type stripping (Node 22.18+). An older
// `node` on PATH re-executes the same arguments with the Node pinned in the repository's node_modules.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, '..', 'src', 'bin', 'sandgate-lab.ts');
const major = Number(process.versions.node.split('.')[0]);

if (major >= 22 && process.features.typescript) {
  await import('../src/bin/sandgate-lab.ts');
} else {
  const pinned = findPinnedNode();
  if (!pinned || process.env.SANDGATE_NODE_REEXEC) {
    process.stderr.write(`error[INTERNAL]: sandgate-lab needs Node 22.18 or newer; this is ${process.version} and no pinned node was found (run npm ci)\n`);
    process.exit(2);
  }
  const child = spawn(pinned, [entry, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, SANDGATE_NODE_REEXEC: '1' } });
  // The terminal sends Ctrl-C to the whole process group; SIGTERM from a supervisor reaches only us, so pass it on.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

/** The npm `node` package puts the binary in node_modules/node/bin/node or its node-<os>-<arch> dependency. */
function findPinnedNode() {
  const arch = `node-${process.platform}-${process.arch}`;
  for (let dir = here; ; dir = dirname(dir)) {
    const nm = join(dir, 'node_modules');
    for (const candidate of [
      join(nm, arch, 'bin', 'node'),
      join(nm, 'node', 'node_modules', arch, 'bin', 'node'),
      join(nm, 'node', 'bin', 'node'),
    ]) {
      if (existsSync(candidate)) return candidate;
    }
    if (dirname(dir) === dir) return undefined;
  }
}
