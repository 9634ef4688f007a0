/**
 * A rolldown plugin for the CLI bundle (scripts/build-cli.ts): static imports of Node's built-in modules become
 * `process.getBuiltinModule(…)` calls. An ESM `import … from 'node:fs'` makes Node build the module's ESM facade,
 * which reads every export, lazy getters included: `fs.promises` loads fs/promises, streams and readline, `node:util`
 * loads worker_threads, and so on (~30–40 internal modules each that nobody uses: `process.moduleLoadList`).
 * `process.getBuiltinModule` returns the same exports object without the facade. Only the bundle gets this: it runs on
 * the pinned Node 22 only (the shim runs it only there), which has `process.getBuiltinModule` (Node 22.3+).
 *
 * Rolldown writes every import of a chunk as one line at its top, in these shapes only: `import { a, b as c } from
 * "node:x";`, `import * as x from "node:x";`, `import x from "node:x";`, `import "node:x";`. Anything else naming a
 * built-in fails the build, so a new shape is never left as a facade import (or worse, half rewritten) unnoticed.
 */
import { builtinModules } from 'node:module';
import type { Plugin } from 'rolldown';

const BUILTIN = new Set(builtinModules);
const isBuiltin = (id: string): boolean => id.startsWith('node:') || BUILTIN.has(id.split('/')[0]!);

/** `{ a, b as c }` (an import clause) as a destructuring pattern: `{ a, b: c }`. */
const pattern = (clause: string): string =>
  clause.replace(/([\w$]+)\s+as\s+([\w$]+)/g, (_, imported: string, local: string) => `${imported}: ${local}`);

/** The chunk's source with its static imports of built-in modules rewritten (see above); throws on an unknown shape. */
export function rewriteBuiltinImports(code: string, chunk: string): string {
  return code.replace(/^import\s*(.*?)\s*(?:from\s*)?"([^"]+)";?[ \t]*$/gm, (line, clause: string, id: string) => {
    if (!isBuiltin(id)) return line;
    const load = `process.getBuiltinModule(${JSON.stringify(id)})`;
    if (clause === '') return `${load};`;
    const named = /^\{[\w$\s,]*\}$/.exec(clause);
    if (named) return `const ${pattern(clause)} = ${load};`;
    const whole = /^(?:\*\s*as\s+)?([\w$]+)$/.exec(clause);
    if (whole) return `const ${whole[1]} = ${load};`;
    throw new Error(`${chunk}: an import of ${id} in a shape the build does not rewrite: ${line}`);
  });
}

export const builtinsWithoutFacade: Plugin = {
  name: 'sandgate:builtins-without-facade',
  renderChunk(code, chunk) {
    const out = rewriteBuiltinImports(code, chunk.fileName);
    // An import of a built-in that the line-by-line rewrite did not see (another shape, on another line) would keep
    // its facade silently; refuse the bundle instead.
    const left = /^import\b[^\n]*"(?:node:[^"]+)"/m.exec(out);
    if (left) throw new Error(`${chunk.fileName}: an import of a built-in module was not rewritten: ${left[0]}`);
    return out;
  },
  // A `const` is not hoisted like an import: were two chunks to import each other, one could call into the other
  // before that one's `const { … } = process.getBuiltinModule(…)` ran. Rolldown emits no such cycle today; refuse one.
  generateBundle(_options, bundle) {
    const imports = new Map<string, string[]>();
    for (const [name, out] of Object.entries(bundle)) if (out.type === 'chunk') imports.set(name, out.imports);
    const done = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      if (path.includes(name)) throw new Error(`the bundle's chunks import each other: ${[...path, name].join(' -> ')}`);
      if (done.has(name)) return;
      for (const next of imports.get(name) ?? []) visit(next, [...path, name]);
      done.add(name);
    };
    for (const name of imports.keys()) visit(name, []);
  },
};
