#!/usr/bin/env node
// npm bin shim for `sandgate-native-host`: runs the compiled entry point (or the TypeScript one) on Node 22, re-executing on the pinned Node if needed.
import { runOnPinnedNode } from '@sandgate/shared/run-on-pinned-node';

await runOnPinnedNode(new URL('../src/bin/native-host.ts', import.meta.url), 'sandgate-native-host', {
  compiled: new URL('../dist/bin/native-host.js', import.meta.url),
});
