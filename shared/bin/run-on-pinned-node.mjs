// The one npm bin shim behind `sandgate`, `sandgate-native-host`, `sandgate-lab` and `sandgate-console`. Our sources
// are TypeScript run by Node's type stripping (Node 22.18+); `sandgate` and `sandgate-native-host` run from a bundle
// compiled at install time instead while it matches the sources (scripts/build-cli.ts). The shebang may start an older system `node`; then the
// same command is re-executed with the Node pinned in the repository's node_modules (the npm `node` package), so
// every machine runs the same Node. Plain JavaScript on purpose: it must run on the old Node too.
import { builtin } from './builtin.mjs';
import { freshCompiled } from './source-stamp.mjs';

const { existsSync, readFileSync } = await builtin('node:fs');
const nodeModule = await builtin('node:module');
const { constants } = await builtin('node:os');
const { dirname, join } = await builtin('node:path');
const { fileURLToPath } = await builtin('node:url');

/**
 * Runs the TypeScript entry point `entry` (a file URL) in this process when this Node can, else in a child on the
 * pinned Node with stdio inherited (the native host's frames go straight through) and signals passed on. With
 * `opts.compiled` (the entry's bundle, built at install time by scripts/build-cli.ts) that bundle runs instead while
 * the stamp beside it still matches the sources; a stale or missing bundle falls back to the TypeScript.
 */
export async function runOnPinnedNode(entry, name, opts = {}) {
  // `NAME --version` answers from the workspace's package.json (entry is <workspace>/src/bin/*.ts) before any of our
  // code or the pinned-Node check runs: it must work, and start fast, wherever the command can start at all.
  if (opts.version && process.argv.length === 3 && process.argv[2] === '--version') {
    process.stdout.write(`${name} ${workspaceVersion(entry)}\n`);
    return;
  }
  const compiled = opts.compiled ? freshCompiled(opts.compiled, new URL('../stamp.json', opts.compiled)) : undefined;
  const run = compiled ?? entry;
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22 && process.features.typescript) {
    // V8's compiled code for the bundle, kept beside it (docs/decisions.md: only who can rewrite the bundle can write
    // there), never in Node's default under the shared tmp folder, where another user could plant entries first.
    // A namespace import: Node 20 has no enableCompileCache, and this file must load there to re-execute.
    if (compiled) nodeModule.enableCompileCache?.(fileURLToPath(new URL('../compile-cache/', compiled)));
    await import(run.href);
    return;
  }
  const pinned = findPinnedNode(dirname(fileURLToPath(entry)));
  // The guard stops a loop should the pinned Node itself turn out unable to run TypeScript.
  if (!pinned || process.env.SANDGATE_NODE_REEXEC) {
    process.stderr.write(
      `error[INTERNAL]: ${name} needs Node.js 22.18 or newer (this is ${process.version}) and the pinned one was not found; run \`npm ci\`\n`,
    );
    process.exit(2);
  }
  // The shim again (argv[1]), so the child makes the same choice of bundle or TypeScript, with the compile cache.
  // Loaded only here: child_process brings net and streams, ~7 ms of every start on the pinned Node (CPU profile).
  const { spawn } = await import('node:child_process');
  const child = spawn(pinned, [process.argv[1], ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, SANDGATE_NODE_REEXEC: '1' },
  });
  // The terminal signals the whole process group; a supervisor may signal only us: pass it on either way.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    process.stderr.write(`error[INTERNAL]: could not start ${pinned}: ${err.message}\n`);
    process.exit(2);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

/** The npm `node` package links its binary into node_modules/node/bin; the real one is in node-<os>-<arch>, nested or hoisted. */
function findPinnedNode(from) {
  const exe = process.platform === 'win32' ? 'node.exe' : 'node';
  const arch = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  for (let dir = from; ; dir = dirname(dir)) {
    const nm = join(dir, 'node_modules');
    for (const candidate of [
      join(nm, 'node', 'bin', exe),
      join(nm, 'node', 'node_modules', arch, 'bin', exe),
      join(nm, arch, 'bin', exe),
    ]) {
      if (existsSync(candidate)) return candidate;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The `version` of the package.json two folders above the entry point; 0.0.0-unknown when it cannot be read. */
function workspaceVersion(entry) {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', entry), 'utf8'));
    if (pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // a broken install still answers; it just cannot say which version it is
  }
  return '0.0.0-unknown';
}
