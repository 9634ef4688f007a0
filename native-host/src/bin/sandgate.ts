import { runCli } from '../cli/run-cli.ts';
import { processIo } from '../cli/cli-io.ts';

const code = await runCli(process.argv.slice(2), processIo());
process.exitCode = code;
// A command has finished when runCli returns; a handle someone forgot to close must not keep the CLI alive.
setTimeout(() => process.exit(code), 1000).unref();
