/**
 * `sandgate-native-host`: what the browser launches over native messaging. Wiring only; the bridge is in
 * stdio/bridge.ts. Nothing here may write to stdout except the bridge's frames.
 */
import { format } from 'node:util';
import { z } from 'zod';
import { sandgateHome } from '../config/paths.ts';
import { connectAgent } from '../ipc/client.ts';
import { createBridgeLogger } from '../stdio/bridge-logger.ts';
import { runBridge } from '../stdio/bridge.ts';

const home = sandgateHome();
const log = createBridgeLogger(home);

// A stray console.log from any module would corrupt the frame stream; route them all to the log.
for (const name of ['log', 'info', 'debug', 'warn', 'error'] as const) {
  console[name] = (...a: unknown[]) => log.warn('console output', { text: format(...a) });
}
process.on('uncaughtException', (err) => {
  log.error('uncaught exception', { error: err.stack ?? String(err) });
  process.exit(70);
});
process.on('unhandledRejection', (err) => {
  log.error('unhandled rejection', { error: String(err) });
  process.exit(70);
});

// For tests and development: the command that starts the agent service, as a JSON array. Its schema is built only
// when the variable is set: a browser's start of the host never needs it (issue 15).
const serveCommand =
  process.env.SANDGATE_SERVE_COMMAND === undefined
    ? undefined
    : z
        .string()
        .transform((s, ctx) => {
          try {
            return JSON.parse(s) as unknown;
          } catch {
            ctx.addIssue({ code: 'custom', message: 'not JSON' });
            return z.NEVER;
          }
        })
        .pipe(z.array(z.string()).min(1))
        .safeParse(process.env.SANDGATE_SERVE_COMMAND);

const code = await runBridge({
  argv: process.argv.slice(2),
  stdin: process.stdin,
  stdout: process.stdout,
  log,
  connect: ({ policyPath }) =>
    connectAgent({
      home,
      autostart: true,
      logger: log,
      ...(serveCommand?.success ? { serveCommand: serveCommand.data } : {}),
      ...(policyPath ? { policyPath } : {}),
    }),
});
log.info('exit', { code, maxRssKiB: process.resourceUsage().maxRSS });
process.exit(code);
