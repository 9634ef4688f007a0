#!/usr/bin/env node
// npm bin shim for `sandgate`: runs the compiled entry point (or the TypeScript one) on Node 22, re-executing on the pinned Node if needed.
import { runOnPinnedNode } from '@sandgate/shared/run-on-pinned-node';

await runOnPinnedNode(new URL('../src/bin/sandgate.ts', import.meta.url), 'sandgate', {
  version: true,
  compiled: new URL('../dist/bin/sandgate.js', import.meta.url),
});
