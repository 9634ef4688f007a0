import { defineConfig } from 'vitest/config';

// Three tiers (style.md rule 13) and the attacks of SECURITY.md. The e2e tier needs a built extension and /usr/bin/chromium; `npm test` builds first.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts'], exclude: ['test/unit/extension/**'] } },
      {
        extends: './extension/vitest.config.ts',
        test: { name: 'unit-extension', root: './extension', include: ['../test/unit/extension/**/*.test.ts'] },
      },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } },
      // Each attack SECURITY.md names, replayed against real processes; every test here fails without its defence.
      { test: { name: 'security', include: ['test/security/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } },
      // Windows-facing integration tests: our code on the Windows build of the pinned Node under Wine (test/README.md).
      // One Wine prefix (registry, C: drive) shared by the files, so they run one after another.
      {
        test: {
          name: 'windows',
          include: ['test/windows/**/*.test.ts'],
          globalSetup: ['test/helpers/wine-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false } },
    ],
  },
});
