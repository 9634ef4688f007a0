#!/usr/bin/env node
// npm bin shim for `sandgate-console`: runs the TypeScript entry point on Node 22, re-executing on the pinned Node if needed.
import { runOnPinnedNode } from '@sandgate/shared/run-on-pinned-node';

await runOnPinnedNode(new URL('../src/bin/sandgate-console.ts', import.meta.url), 'sandgate-console', { version: true });
