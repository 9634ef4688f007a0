import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';

/** Where the page loads its modules from: `/ui/<name>.ts`, served as JavaScript. */
export const BROWSER_MODULE_PREFIX = '/ui/';

const BROWSER_DIR = join(import.meta.dirname, 'browser');
const MODULE_NAME = /^[a-z][a-z0-9-]*\.ts$/;

/**
 * The web console's browser code: typed modules in `browser/`, type-checked with the DOM library
 * (`tsc -p console/src/web/browser`, part of `npm run typecheck`) and served as the browser's own ES modules with
 * their types stripped, the same erasure Node applies to the console's server code. No bundler: each module is one
 * file the browser asks for by name; only the names found in that folder at start are served.
 */
export function loadBrowserModules(dir = BROWSER_DIR): ReadonlyMap<string, string> {
  const modules = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    if (!MODULE_NAME.test(name)) continue;
    modules.set(name, stripTypes(readFileSync(join(dir, name), 'utf8')));
  }
  return modules;
}

function stripTypes(source: string): string {
  // Node marks stripTypeScriptTypes experimental and says so on stderr at first use; the console's stderr is its log,
  // where that line would read as a fault. The erasure itself is the one Node runs this very file through.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return stripTypeScriptTypes(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emitWarning;
  }
}
