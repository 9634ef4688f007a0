import { PROTOCOL_VERSION, SandgateError } from '@sandgate/shared';
import { findPolicyFile, loadPolicyFile, type LoadedPolicy } from '../config/load-policy.ts';
import { sandgatePaths } from '../config/paths.ts';
import { watchPolicyFile } from '../config/policy-watcher.ts';
import { swappableAgent, type SwappableAgent } from '../agent/swappable-agent.ts';
import { createAgent } from '../agent/agent.ts';
import { EventLog } from '../events/event-log.ts';
import { createRouter } from '../router.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { listenAgentSocket } from '../ipc/server.ts';
import { serveConnection } from '../ipc/serve-connection.ts';
import type { FramedConnection } from '../ipc/framed-connection.ts';
import { createLogger } from '../log.ts';
import { readCredentials } from '../console/console-files.ts';
import { startConsoleClient } from '../console/console-client.ts';
import { consoleTuningFromEnv } from '../console/client-tuning.ts';
import { appVersion } from './app-version.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, usage, type CliIo } from './cli-io.ts';

export const SERVE_HELP = `usage: sandgate serve [--policy FILE]

Runs the agent service in the foreground: the request queue, the sandbox client, response actions and the event log,
listening on the agent socket of $SANDGATE_HOME. Logs go to stderr. Ctrl-C (SIGINT) or SIGTERM stops it cleanly.

The policy file is watched: a valid change is applied without a restart (event policy-reloaded, naming the keys that
changed); an invalid one is refused and the last good policy stays in force (event policy-invalid, naming the key and
the reason). A certificate file replaced in place is picked up with the next change to the policy file.

Enrolled with a console (sandgate enroll), it also sends heartbeats and its event log to the console over mutual TLS
and applies its group's policy by writing the policy file above.
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
  // The agent socket is the home's lock: only one agent may serve a home, and a second one must not touch the queue
  // (its start-up replay would remove the first one's copies in progress). So the socket is taken first, and
  // connections made before the agent is ready wait for it (their frames are kept until they are read).
  let serve: ((conn: FramedConnection) => void) | undefined;
  const ready: FramedConnection[] = [];
  const server = await listenAgentSocket(ctx.home, (conn) => (serve ? serve(conn) : ready.push(conn)), { logger });
  // The scan tasks of whichever agent is in force: the swappable wrapper forwards the Agent calls, not this.
  let tasks: TaskService | undefined;
  const open = async (l: LoadedPolicy) => {
    const a = await createAgent({ home: ctx.home, loaded: l, log: logger, appVersion: version });
    tasks = a.tasks;
    return a;
  };
  let agent: SwappableAgent;
  try {
    agent = swappableAgent(await open(loaded));
  } catch (err) {
    for (const c of ready) c.destroy();
    await server.close();
    throw err;
  }
  let lastGood = loaded;
  // The policy in force (reloads included), not whatever file a default lookup would find.
  const router = createRouter(agent, {
    appVersion: version,
    home: ctx.home,
    usersMayRestore: async () => lastGood.policy.quarantine.usersMayRestore,
    tasks: () => tasks,
  });
  serve = (conn) =>
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
    );
  for (const c of ready.splice(0)) serve(c);

  const events = new EventLog(sandgatePaths(ctx.home).events);
  const watcher = watchPolicyFile({
    path: policyFile,
    initial: loaded,
    log: logger.child('policy'),
    onValid: async (next, changed) => {
      try {
        await agent.replace(
          () => open(next),
          () => open(lastGood),
        );
      } catch (err) {
        const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', err instanceof Error ? err.message : String(err));
        events.append({
          type: 'policy-invalid',
          code: e.code,
          path: policyFile,
          message: `the agent could not start with the changed policy (${e.message}); keeping the last good policy`,
        });
        return;
      }
      lastGood = next;
      logger.info('policy reloaded', { policy: policyFile, changed });
      events.append({ type: 'policy-reloaded', path: policyFile, message: `applied without a restart; changed: ${changed.join(', ')}` });
    },
    onInvalid: (err, issues) => {
      const named = issues.map((i) => `${i.key || '(top level)'}: ${i.message}`).join('; ');
      events.append({
        type: 'policy-invalid',
        code: err.code,
        path: policyFile,
        message: `${named || err.message}; keeping the last good policy`,
      });
    },
  });

  // Enrolled with a console (sandgate enroll): heartbeats, events and the group policy over mutual TLS.
  const credentials = readCredentials(ctx.home);
  const consoleClient = credentials
    ? startConsoleClient({
        home: ctx.home,
        credentials,
        status: () => agent.status(),
        eventLogFile: events.file,
        policyFile,
        log: logger,
        tasks: () => agent.tasks,
        ...consoleTuningFromEnv(io.env),
      })
    : undefined;

  logger.info('agent service listening', { socket: server.path, policy: policyFile });
  const signal = await stopRequested;
  logger.info('stopping', { signal });
  await consoleClient?.close();
  watcher.close();
  await server.close();
  await agent.close();
  return EXIT.ok;
}
