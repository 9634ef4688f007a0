#!/usr/bin/env node
// npm bin shim for `sandgate-native-host`: runs the TypeScript entry point on Node 22, re-executing on the pinned Node if needed.
import { runOnPinnedNode } from '@sandgate/shared/run-on-pinned-node';

await runOnPinnedNode(new URL('../src/bin/native-host.ts', import.meta.url), 'sandgate-native-host');
