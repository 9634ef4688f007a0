import { createServer, type Server, type Socket } from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { FramedConnection } from './framed-connection.ts';
import { ensureRunDir, runDir } from './run-dir.ts';
import { connectLocal, isListening } from './probe-socket.ts';
import { withDirLock } from './dir-lock.ts';
import { loadOrCreatePipeKey } from './pipe-key.ts';
import { admitClient, restrictPipe, verifyAgent } from './pipe-peer.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';

export interface AgentSocketServer {
  path: string;
  close(): Promise<void>;
}

/**
 * Listens on the agent socket of `home`. Only one agent may serve a home: a live one makes this fail with
 * AGENT_ALREADY_RUNNING; a stale socket file left by a crashed agent is replaced. On Windows a connection reaches
 * `onConnection` only once the client proved it holds the home's pipe key (pipe-peer.ts); the others are dropped
 * unanswered and logged as IPC_CLIENT_REFUSED.
 */
export async function listenAgentSocket(
  home: string,
  onConnection: (c: FramedConnection) => void,
  opts: { logger?: Logger } = {},
): Promise<AgentSocketServer> {
  const log = opts.logger ?? silentLogger;
  const path = await ensureRunDir(home);
  const sockets = new Set<Socket>();
  let pipeKey: Buffer | undefined;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!pipeKey) {
      onConnection(new FramedConnection(socket));
      return;
    }
    socket.on('error', () => {});
    void admitClient(socket, pipeKey, path, (reason) =>
      log.warn('pipe client refused', { code: 'IPC_CLIENT_REFUSED', socket: path, reason }),
    ).then((admitted) => {
      if (!admitted) return;
      const conn = new FramedConnection(socket);
      socket.resume();
      onConnection(conn);
    });
  });

  const lock = join(runDir(home), 'listen.lock');
  if (process.platform === 'win32') {
    await listenPipe(
      server,
      path,
      lock,
      async () => {
        pipeKey = await loadOrCreatePipeKey(home);
      },
      (answering) => verifyAgent(answering, home, path),
    );
    const notRestricted = restrictPipe(path);
    if (notRestricted) log.warn('the pipe keeps the default access list', { socket: path, reason: notRestricted });
  } else await listenUnixSocket(server, path, lock);

  if (process.platform !== 'win32') await chmod(path, 0o600);

  return {
    path,
    close: async () => {
      for (const s of sockets) s.destroy();
      // libuv removes the socket file itself when the server closes.
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const LOCK = { timeoutMs: 10_000, staleMs: 15_000 };

async function listenUnixSocket(server: Server, path: string, lock: string): Promise<void> {
  try {
    await listen(server, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    // Replacing a stale socket is check-then-act: without the lock, two agents starting together could each unlink
    // the other's fresh socket and both end up serving, one of them unreachable.
    await withDirLock(
      lock,
      async () => {
        if (await isListening(path)) throw alreadyRunning(path);
        await unlink(path).catch(() => {});
        await listen(server, path).catch((e: NodeJS.ErrnoException) => {
          // Someone bound the path between our unlink and our bind, without needing the lock: they won.
          throw e.code === 'EADDRINUSE' ? alreadyRunning(path) : e;
        });
      },
      LOCK,
    );
  }
}

/**
 * A named pipe leaves nothing stale behind (it goes with its last handle), but a second listen on a name adds an
 * instance of the same pipe unless the OS honours FILE_FLAG_FIRST_PIPE_INSTANCE (libuv asks for it; Windows honours it,
 * Wine does not). Asking whether someone answers, under the lock, is what keeps one agent per home on both. Whoever
 * answers must prove it is this home's agent (pipe-peer.ts): a process that took the name first is AGENT_UNVERIFIED,
 * not an agent already running.
 */
async function listenPipe(
  server: Server,
  path: string,
  lock: string,
  prepare: () => Promise<void>,
  verify: (answering: Socket) => Promise<void>,
): Promise<void> {
  await withDirLock(
    lock,
    async () => {
      await prepare();
      const answering = await connectLocal(path).catch((err: unknown) => {
        if (err instanceof SandgateError) throw err;
        return null;
      });
      if (answering) {
        try {
          await verify(answering);
          throw alreadyRunning(path);
        } catch (err) {
          // An agent that closed the pipe before proving itself was on its way out: the listen below decides.
          if (!(err instanceof SandgateError) || err.code !== 'AGENT_UNAVAILABLE') throw err;
        } finally {
          answering.destroy();
        }
      }
      await listen(server, path).catch((e: NodeJS.ErrnoException) => {
        throw e.code === 'EADDRINUSE' ? alreadyRunning(path) : e;
      });
    },
    LOCK,
  );
}

function alreadyRunning(path: string): SandgateError {
  return new SandgateError('AGENT_ALREADY_RUNNING', `an agent is already listening on ${path}`, { params: { path } });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
