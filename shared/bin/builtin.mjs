// A built-in module for the bin shims, without the ESM facade that `import … from 'node:fs'` builds: the facade reads
// every export, lazy getters included, so `node:fs` alone loads fs/promises, streams and readline (~30 internal
// modules) on every start of every command. `process.getBuiltinModule` (Node 22.3+, 20.16+) returns the same exports
// object without it; an older Node, which the shims only re-execute from, gets the import. Plain JavaScript, as the shims.

/** The exports of built-in module `id` (`node:fs`, …). */
export async function builtin(id) {
  return process.getBuiltinModule?.(id) ?? (await import(id));
}
