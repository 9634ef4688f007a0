/**
 * Compiles `sandgate` and `sandgate-native-host` to JavaScript once, at install time (`npm ci` runs it as the root
 * package's postinstall; `npm run build:cli` by hand). Without it every start strips the types of ~230 TypeScript
 * files (Node loads its TypeScript stripper, a WebAssembly module, for that) and resolves ~200 modules; with it a
 * command loads one entry file and the chunks its command needs. The bin shims run the bundle only while the stamp
 * written here still matches the sources (shared/bin/source-stamp.mjs); otherwise they run the TypeScript as before.
 *
 * Layout: native-host/dist/bin/<entry>.js and native-host/dist/chunks/*.js, both two folders below native-host/, the
 * same depth as native-host/src/<room>/*.ts, so every `new URL('../../…', import.meta.url)` in the sources names the
 * same file from the bundle (native-host/package.json, the repository root).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { sourceStamp } from '../shared/bin/source-stamp.mjs';
import { builtinsWithoutFacade } from './lib/builtins-without-facade.ts';

const root = join(import.meta.dirname, '..');
const out = join(root, 'native-host', 'dist');
// Bundled: our sources and zod (pure ESM, loaded by almost every command). The other packages stay in node_modules
// and load only when a command imports them.
const BUNDLED = new Set(['@sandgate/shared', 'zod']);
const builtin = new Set(builtinModules);

const external = (id: string): boolean => {
  if (id.startsWith('.') || id.startsWith('/')) return false;
  if (id.startsWith('node:') || builtin.has(id)) return true;
  const name = id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]!;
  return !BUNDLED.has(name);
};

rmSync(out, { recursive: true, force: true });
let rolldown: typeof import('rolldown');
try {
  rolldown = await import('rolldown');
} catch {
  // An install without devDependencies (npm ci --omit=dev) has no bundler: the shims then run the TypeScript.
  process.stdout.write('sandgate: rolldown is not installed; the commands will run from their TypeScript sources\n');
  process.exit(0);
}
const common = {
  platform: 'node',
  external,
  plugins: [builtinsWithoutFacade],
  // A schema nobody imports need not be built at start-up: `z.…(…)` chains are pure (we never call z for an effect:
  // no z.config, no registries), so the bundle keeps only the schemas its commands use.
  treeshake: { manualPureFunctions: ['z', 'lazySchema'] },
  logLevel: 'warn',
} satisfies import('rolldown').BuildOptions;
const output = { dir: out, format: 'esm', entryFileNames: 'bin/[name].js', sourcemap: false } as const;
await rolldown.build({
  ...common,
  input: {
    sandgate: join(root, 'native-host/src/bin/sandgate.ts'),
    // Not a command: the module a scan's hashing threads run (scan/hash-pool.ts names it as ../bin/hash-worker.js).
    'hash-worker': join(root, 'native-host/src/scan/hash-worker.ts'),
  },
  output: {
    ...output,
    chunkFileNames: 'chunks/[name]-[hash].js',
    // zod in a chunk of its own: then `--help`, usage errors and the like, which need no schema, do not evaluate it.
    // lazy-schema.ts (imported only by schema modules, beside zod) joins it rather than being a module of its own.
    codeSplitting: {
      groups: [{ name: 'zod', test: /[\\/]node_modules[\\/]zod[\\/]|[\\/]shared[\\/]src[\\/]lazy-schema\.ts$/ }],
    },
  },
});
// The native host apart, in one file: built with `sandgate` it shared ~16 small chunks with the commands, each a module
// Node resolves, reads and links at every start the browser makes (issue 15). It runs in a process of its own, so
// the modules it has in common with the commands are never loaded twice into one process (a class, such as
// SandgateError, stays one class). A dynamic import would still make a chunk; its names keep it apart from the others.
await rolldown.build({
  ...common,
  input: { 'native-host': join(root, 'native-host/src/bin/native-host.ts') },
  output: { ...output, chunkFileNames: 'chunks/native-host-[name]-[hash].js' },
});

// What the bundle was built from: the stamp the shims compare before running it.
const require = createRequire(join(root, 'native-host', 'package.json'));
const zodPackage = require.resolve('zod/package.json');
const roots = [join(root, 'native-host/src'), join(root, 'shared/src'), zodPackage];
writeFileSync(
  join(out, 'stamp.json'),
  JSON.stringify(
    {
      roots: roots.map((r) => relative(out, r) + (r === zodPackage ? '' : '/')).map((r) => r.split('\\').join('/')),
      stamp: sourceStamp(roots),
    },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`sandgate: compiled to ${relative(root, out)} (${relative(root, dirname(zodPackage))} bundled)\n`);
