import { connect, type Socket } from 'node:net';
import { SandgateError } from '@sandgate/shared';
import { checkClient, proveAgent } from './pipe-proof.ts';
import { readPipeKey } from './pipe-key.ts';
import { winPipeOs, type WinPipeOs } from './win-pipe-os.ts';

/**
 * Who is on the other end of the agent's Windows named pipe, from both sides (issue 19). A Unix socket needs none of
 * this: it sits in a 0700 folder of the user, so the OS already keeps everyone else away from both ends.
 *
 * Client: the pipe is opened through Windows (win-pipe-os.ts) so that the process serving this very handle is known;
 * one that runs as another user is refused, then the agent must prove it holds the home's pipe key (pipe-proof.ts).
 * Agent: the pipe's access list lets in this user only, and a client must prove it holds the pipe key.
 */

/** The process that serves a pipe socket this client opened, when Windows could say. */
const servers = new WeakMap<Socket, number>();

/** Opens the pipe as a client; null when nobody serves it. Falls back to Node's own connect when koffi cannot load. */
export async function openPipe(path: string): Promise<Socket | null> {
  let os;
  try {
    os = winPipeOs();
  } catch {
    // Without koffi there is no OS check of the server; the pipe proof below still stands (docs/decisions.md).
    return nodeConnect(path);
  }
  const opened = await os.open(path).catch((err: NodeJS.ErrnoException) => {
    // Our agent's access list lets this user in: a pipe that does not was made by someone else (untested: Wine does
    // not enforce pipe access lists).
    if (err.code !== 'EACCES') throw err;
    throw new SandgateError(
      'AGENT_UNVERIFIED',
      `the process serving ${path} is not this user's agent: its pipe does not let this user in`,
      {
        params: { socket: path, reason: 'access denied' },
      },
    );
  });
  if (!opened) return null;
  servers.set(opened.socket, opened.serverPid);
  return opened.socket;
}

function nodeConnect(path: string): Promise<Socket | null> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null);
      else reject(err);
    });
    socket.once('connect', () => resolve(socket));
  });
}

/**
 * Before the first request on a pipe socket: the serving process must run as this user (when Windows told us who it is)
 * and must prove it holds the pipe key. Rejects with AGENT_UNVERIFIED (the socket destroyed, nothing sent but a
 * challenge) or AGENT_UNAVAILABLE. Leaves the socket paused for the framing.
 */
export async function verifyAgent(socket: Socket, home: string, path: string): Promise<void> {
  const pid = servers.get(socket);
  if (pid !== undefined) {
    const refused = otherUsersServer(winPipeOs(), pid, path);
    if (refused) {
      socket.destroy();
      throw refused;
    }
  }
  const key = await readPipeKey(home, path).catch((err: unknown) => {
    socket.destroy();
    throw err;
  });
  await proveAgent(socket, key, path);
}

/**
 * AGENT_UNVERIFIED when the process serving the pipe runs as another user than this one, or Windows will not say
 * whom it runs as (fail closed); undefined when it is this user.
 */
export function otherUsersServer(os: Pick<WinPipeOs, 'processUser' | 'currentUser'>, pid: number, path: string): SandgateError | undefined {
  const user = os.processUser(pid);
  if (user !== undefined && user === os.currentUser()) return undefined;
  const who = user ?? 'a user Windows would not name';
  return new SandgateError('AGENT_UNVERIFIED', `the process serving ${path} (pid ${pid}) runs as ${who}, not as this user`, {
    params: { socket: path, pid, reason: 'served by another user' },
  });
}

/** The agent's side, for each accepted connection: true once the client proved itself (then the socket is paused). */
export async function admitClient(socket: Socket, key: Buffer, path: string, onRefused: (reason: string) => void): Promise<boolean> {
  const r = await checkClient(socket, key, path);
  if (r.ok) return true;
  socket.destroy();
  if (r.sentSomething) onRefused(r.reason);
  return false;
}

/** Best effort on the agent's side: the pipe's access list narrowed to this user. Returns why not, when it could not. */
export function restrictPipe(path: string): string | undefined {
  try {
    winPipeOs().restrictToCurrentUser(path);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
