import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { WxtVitest } from 'wxt/testing/vitest-plugin';

// Used by the root `unit-extension` project. WxtVitest wires WXT's auto-imports, `import.meta.env` and `fakeBrowser`
// in place of `browser`, so extension modules run under vitest unchanged. `root` is explicit because vitest runs
// from the repository root, where WXT would look for entrypoints in the wrong folder.
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  plugins: [WxtVitest({ root })],
  test: { environment: 'node', restoreMocks: true },
});
