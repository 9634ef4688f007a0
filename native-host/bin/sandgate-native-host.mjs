#!/usr/bin/env node
// npm bin shim for `sandgate-native-host`: runs the compiled entry point (or the TypeScript one) on Node 22, re-executing on the pinned Node if needed.
// By path, not by package name: resolving `@sandgate/shared/…` through node_modules and the package's exports is
// ~2 ms of every start (issue 15); the workspaces are always side by side in the repository these shims run from.
import { runOnPinnedNode } from '../../shared/bin/run-on-pinned-node.mjs';

await runOnPinnedNode(new URL('../src/bin/native-host.ts', import.meta.url), 'sandgate-native-host', {
  compiled: new URL('../dist/bin/native-host.js', import.meta.url),
});
