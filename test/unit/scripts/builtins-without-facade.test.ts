import { describe, expect, it } from 'vitest';
import { rewriteBuiltinImports } from '../../../scripts/lib/builtins-without-facade.ts';

// The CLI bundle loads Node's built-ins without their ESM facade (start-up, issue 15): every shape rolldown writes is
// rewritten, our own chunks and packages are left alone, and a shape it does not know fails the build.
describe('the bundle imports built-in modules without their ESM facade', () => {
  it('rewrites named, renamed, namespace, default and bare imports', () => {
    const chunk = [
      'import { join } from "node:path";',
      'import { a as b, setTimeout as sleep } from "node:timers/promises";',
      'import * as nodeModule from "node:module";',
      'import https from "node:https";',
      'import "node:fs";',
      'import { t as SandgateError } from "./sandgate-error-x.js";',
      'import { SaxesParser } from "saxes";',
      'const text = `import { x } from "node:fs";`;',
    ].join('\n');
    expect(rewriteBuiltinImports(chunk, 'c.js').split('\n')).toEqual([
      'const { join } = process.getBuiltinModule("node:path");',
      'const { a: b, setTimeout: sleep } = process.getBuiltinModule("node:timers/promises");',
      'const nodeModule = process.getBuiltinModule("node:module");',
      'const https = process.getBuiltinModule("node:https");',
      'process.getBuiltinModule("node:fs");',
      'import { t as SandgateError } from "./sandgate-error-x.js";',
      'import { SaxesParser } from "saxes";',
      'const text = `import { x } from "node:fs";`;',
    ]);
  });

  it('refuses a shape it does not rewrite', () => {
    expect(() => rewriteBuiltinImports('import fs, { readFileSync } from "node:fs";', 'c.js')).toThrow(/shape/);
  });
});
