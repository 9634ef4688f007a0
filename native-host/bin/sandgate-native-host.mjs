#!/usr/bin/env node
// npm bin shim for the native-messaging host. Our TypeScript needs Node >= 22 (type stripping); when an older node
// runs this shim (the system node, via the shebang), re-run under the repository's pinned node from the npm `node`
// package. Installed hosts do not go through here: their launcher execs the pinned node directly.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, '..', 'src', 'bin', 'native-host.ts');
const major = Number(process.versions.node.split('.')[0]);

if (major >= 22) {
  await import(pathToFileURL(entry).href);
} else {
  const exe = process.platform === 'win32' ? 'node.exe' : 'node';
  const platformPkg = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  const candidates = [];
  // Walk up: the shim may sit in the repo (native-host/bin) or in an installed copy's node_modules.
  for (let dir = here; ; dir = dirname(dir)) {
    candidates.push(
      join(dir, 'node_modules', 'node', 'bin', exe),
      join(dir, 'node_modules', 'node', 'node_modules', platformPkg, 'bin', exe),
      join(dir, 'node_modules', platformPkg, 'bin', exe),
    );
    if (dirname(dir) === dir) break;
  }
  const pinned = candidates.find((p) => existsSync(p));
  if (!pinned) {
    process.stderr.write(`sandgate-native-host: Node ${process.versions.node} is too old and the pinned Node 22 was not found; run npm ci\n`);
    process.exit(2);
  }
  // stdio inherited: the child reads the browser's stdin and writes its frames straight to our stdout.
  const child = spawn(pinned, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
