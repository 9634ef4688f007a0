#!/usr/bin/env node
// npm bin shim for `sandgate-console`. Our sources are TypeScript run by Node's type stripping, which needs Node 22 or newer;
// an older `node` on PATH re-executes this command with the Node pinned in the repository's node_modules.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major >= 22) {
  await import('../src/bin/sandgate-console.ts');
} else {
  const here = dirname(fileURLToPath(import.meta.url));
  const exe = process.platform === 'win32' ? 'node.exe' : 'node';
  const arch = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  // The npm `node` package links its binary into node_modules/node/bin; the real one lives in the arch package,
  // nested under node/ or hoisted beside it.
  const candidates = [];
  for (let dir = join(here, '..'); ; dir = dirname(dir)) {
    const nm = join(dir, 'node_modules');
    candidates.push(join(nm, 'node', 'bin', exe), join(nm, 'node', 'node_modules', arch, 'bin', exe), join(nm, arch, 'bin', exe));
    if (dirname(dir) === dir) break;
  }
  const pinned = candidates.find((c) => existsSync(c));
  if (!pinned) {
    process.stderr.write(`error[INTERNAL]: sandgate-console needs Node.js 22 or newer (this is ${process.version}); run \`npm ci\` to install the pinned one\n`);
    process.exit(2);
  }
  const child = spawn(pinned, [fileURLToPath(new URL('../src/bin/sandgate-console.ts', import.meta.url)), ...process.argv.slice(2)], { stdio: 'inherit' });
  // A supervisor may signal only this process; pass it on so `serve` still shuts down cleanly.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    process.stderr.write(`error[INTERNAL]: could not start ${pinned}: ${err.message}\n`);
    process.exit(2);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 2)));
}
