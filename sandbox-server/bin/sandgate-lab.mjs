#!/usr/bin/env node
// npm bin shim for `sandgate-lab`: runs the TypeScript entry point on Node 22, re-executing on the pinned Node if needed.
import { runOnPinnedNode } from '@sandgate/shared/run-on-pinned-node';

await runOnPinnedNode(new URL('../src/bin/sandgate-lab.ts', import.meta.url), 'sandgate-lab', { version: true });
