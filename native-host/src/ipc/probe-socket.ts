import { connect, type Socket } from 'node:net';
import { openPipe } from './pipe-peer.ts';

/**
 * Connects to a local socket. Resolves with the socket, or with null when nobody is listening (missing or stale
 * socket file); other errors reject. A Windows pipe is opened through Windows so that its server can be checked
 * (pipe-peer.ts); no request may cross it before `verifyAgent`.
 */
export function connectLocal(path: string): Promise<Socket | null> {
  if (process.platform === 'win32') return openPipe(path);
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const onError = (err: NodeJS.ErrnoException) => {
      socket.destroy();
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') resolve(null);
      else reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Whether an agent answers on this socket path right now. */
export async function isListening(path: string): Promise<boolean> {
  const s = await connectLocal(path).catch(() => null);
  if (!s) return false;
  s.destroy();
  return true;
}
