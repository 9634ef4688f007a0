/**
 * A stand-in for `sandgate serve`, run as a real child process by integration tests: the real socket server
 * (listenAgentSocket) and the real request loop (serveConnection), with a fake target. Run with SANDGATE_HOME set.
 *
 * Behaviour is chosen by the hello request's `client` string, so tests drive it through the real bridge:
 *   "test/huge:<n>"  answers with a string of n bytes as `data`
 *   "test/push"      answers, then pushes one agent-status event
 *   "test/exit"      answers, then the service exits (the bridge must notice)
 *   "test/hang"      never answers
 * Every start is recorded in $SANDGATE_HOME/fake-agent.log ("listening <pid>" or "already-running <pid>").
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOL_VERSION, SandgateError, type PushEvent } from '@sandgate/shared';
import { listenAgentSocket } from '#native-host/ipc/server.ts';
import { serveConnection } from '#native-host/ipc/serve-connection.ts';

const home = process.env.SANDGATE_HOME;
if (!home) throw new Error('SANDGATE_HOME must be set');
const record = (line: string) => appendFileSync(join(home, 'fake-agent.log'), `${line} ${process.pid}\n`);

const listeners = new Set<(e: PushEvent) => void>();
const push = (e: PushEvent) => {
  for (const l of listeners) l(e);
};

try {
  const server = await listenAgentSocket(home, (conn) =>
    serveConnection(conn, {
      subscribe(l) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      async handle(req) {
        if (req.type === 'get-status') throw new SandgateError('QUEUE_IO', 'fake queue failure');
        if (req.type !== 'hello') return { echo: req.type };
        const client = req.payload.client;
        const huge = /^test\/huge:(\d+)$/.exec(client);
        if (huge) return 'x'.repeat(Number(huge[1]));
        if (client === 'test/push') {
          setTimeout(
            () => push({ v: PROTOCOL_VERSION, kind: 'event', type: 'agent-status', payload: { serversReachable: true, queueFull: false } }),
            20,
          );
        }
        if (client === 'test/hang') return new Promise(() => {});
        if (client === 'test/exit') setTimeout(() => process.exit(0), 20);
        return { v: PROTOCOL_VERSION, appVersion: 'fake-agent', capabilities: ['status'] };
      },
    }),
  );
  record('listening');
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (err) {
  if (err instanceof SandgateError && err.code === 'AGENT_ALREADY_RUNNING') {
    record('already-running');
    process.exit(3);
  }
  throw err;
}
