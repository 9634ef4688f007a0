import { createServer, type Server, type Socket } from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { FramedConnection } from './framed-connection.ts';
import { ensureRunDir } from './run-dir.ts';
import { isListening } from './probe-socket.ts';
import { withDirLock } from './dir-lock.ts';

export interface AgentSocketServer {
  path: string;
  close(): Promise<void>;
}

/**
 * Listens on the agent socket of `home`. Only one agent may serve a home: a live one makes this fail with
 * AGENT_ALREADY_RUNNING; a stale socket file left by a crashed agent is replaced.
 */
export async function listenAgentSocket(home: string, onConnection: (c: FramedConnection) => void): Promise<AgentSocketServer> {
  const path = await ensureRunDir(home);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(new FramedConnection(socket));
  });

  try {
    await listen(server, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    // Replacing a stale socket is check-then-act: without the lock, two agents starting together could each unlink
    // the other's fresh socket and both end up serving, one of them unreachable.
    await withDirLock(
      join(dirname(path), 'listen.lock'),
      async () => {
        if (await isListening(path)) throw alreadyRunning(path);
        if (process.platform !== 'win32') await unlink(path).catch(() => {});
        await listen(server, path).catch((e: NodeJS.ErrnoException) => {
          // Someone bound the path between our unlink and our bind, without needing the lock: they won.
          throw e.code === 'EADDRINUSE' ? alreadyRunning(path) : e;
        });
      },
      { timeoutMs: 10_000, staleMs: 15_000 },
    );
  }

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
