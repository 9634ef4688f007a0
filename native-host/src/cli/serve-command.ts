import { PROTOCOL_VERSION } from '@sandgate/shared';
import { findPolicyFile, loadPolicyFile } from '../config/load-policy.ts';
import { createAgent } from '../agent/agent.ts';
import { createRouter } from '../router.ts';
import { listenAgentSocket } from '../ipc/server.ts';
import { serveConnection } from '../ipc/serve-connection.ts';
import { createLogger } from '../log.ts';
import { appVersion } from './app-version.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, usage, type CliIo } from './cli-io.ts';

export const SERVE_HELP = `usage: sandgate serve [--policy FILE]

Runs the agent service in the foreground: the request queue, the sandbox client, response actions and the event log,
listening on the agent socket of $SANDGATE_HOME. Logs go to stderr. Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
`;

export async function serveCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, positionals, help } = parseCommand(io, args, {});
  if (help) {
    io.out(SERVE_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  // Listen for Ctrl-C/SIGTERM from the start, so a stop requested during start-up still ends in a clean close.
  const stopRequested = io.interrupted;
  const logger = createLogger({ write: (line) => io.err(line), module: 'serve' });
  const policyFile = findPolicyFile({ home: ctx.home, env: io.env, ...(ctx.policyPath ? { explicit: ctx.policyPath } : {}) });
  const loaded = await loadPolicyFile(policyFile);
  const version = appVersion();
  const agent = await createAgent({ home: ctx.home, loaded, log: logger, appVersion: version });
  const router = createRouter(agent, { appVersion: version });
  let server;
  try {
    server = await listenAgentSocket(ctx.home, (conn) =>
      serveConnection(
        conn,
        {
          handle: router.handle,
          subscribe: (push) => {
            const offJobs = agent.onJobUpdate((job) => push({ v: PROTOCOL_VERSION, kind: 'event', type: 'job-update', payload: job }));
            const offStatus = agent.onAgentStatus((payload) => push({ v: PROTOCOL_VERSION, kind: 'event', type: 'agent-status', payload }));
            return () => {
              offJobs();
              offStatus();
            };
          },
        },
        { logger },
      ),
    );
  } catch (err) {
    await agent.close();
    throw err;
  }
  logger.info('agent service listening', { socket: server.path, policy: policyFile });
  const signal = await stopRequested;
  logger.info('stopping', { signal });
  await server.close();
  await agent.close();
  return EXIT.ok;
}
