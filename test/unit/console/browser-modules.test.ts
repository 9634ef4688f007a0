import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBrowserModules } from '#console/web/browser-modules.ts';
import { CONSOLE_HTML } from '#console/web/console-page.ts';

// The page's code is typed modules served with their types stripped: what the browser gets must parse as a module,
// and every import it makes must name a module the console serves (a missing one is a blank page, not an error).
const modules = loadBrowserModules();
const scratch = mkdtempSync(join(tmpdir(), 'sg-ui-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the web console page', () => {
  it('serves every module of its browser folder, and only those', () => {
    const folder = readdirSync(join(import.meta.dirname, '../../../console/src/web/browser')).filter((n) => n.endsWith('.ts'));
    expect([...modules.keys()].sort()).toEqual(folder.sort());
    expect(modules.has('../admin-api.ts')).toBe(false);
  });

  // One `node --check` per module: on a loaded two-core machine that takes longer than the default 5 s.
  it('loads its entry module, and every module parses as JavaScript once its types are stripped', { timeout: 60_000 }, () => {
    expect(CONSOLE_HTML).toContain('<script type="module" src="/ui/main.ts"></script>');
    expect(modules.has('main.ts')).toBe(true);
    for (const [name, js] of modules) {
      const file = join(scratch, name.replace(/\.ts$/, '.mjs'));
      writeFileSync(file, js);
      expect(() => execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' }), name).not.toThrow();
      expect(js, name).not.toMatch(/:\s*(string|number|boolean|Promise<)/);
    }
  });

  it('imports only modules it serves', () => {
    for (const [name, js] of modules) {
      for (const [, spec] of js.matchAll(/from '([^']+)'/g)) {
        expect(spec, `${name} imports ${spec}`).toMatch(/^\.\/[a-z-]+\.ts$/);
        expect(modules.has(spec!.slice(2)), `${name} imports ${spec}`).toBe(true);
      }
    }
  });
});
