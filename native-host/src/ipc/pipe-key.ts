import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { writeFileSynced } from '@sandgate/shared/durable-write';
import { runDir } from './run-dir.ts';

/**
 * The pipe key: 32 random bytes in `$SANDGATE_HOME/run/pipe.key` that the agent and its clients prove they hold before
 * a request crosses the Windows named pipe (pipe-proof.ts). A named pipe is a name anyone may take and a door anyone
 * the access list lets in may knock on; the key is what only this user can read, because the home is under the user's
 * `%LOCALAPPDATA%` (its folders carry the profile's per-user access list; Node can neither set nor read it). The agent
 * makes it, under its listen lock, before it listens; a client only reads it. Never followed through a link.
 */
export const PIPE_KEY_BYTES = 32;

export function pipeKeyPath(home: string): string {
  return join(runDir(home), 'pipe.key');
}

/** The agent's side: the home's pipe key, made (exclusive create, never through a link) when absent or unusable. */
export async function loadOrCreatePipeKey(home: string): Promise<Buffer> {
  const path = pipeKeyPath(home);
  const existing = await readPipeKeyFile(path);
  if (existing.ok) return existing.key;
  if (existing.reason !== 'missing') {
    // Only this user can write the run folder; a file of the wrong size is one an agent died writing. A link is left.
    if (existing.reason === 'is a link') throw unsafe(path, existing.reason);
    await unlink(path);
  }
  const key = randomBytes(PIPE_KEY_BYTES);
  // Exclusive create: never opens what is already there (a file or a link planted since the check), so nothing is
  // written through a link. Callers hold the listen lock, so no other agent of this home is making one at the same time.
  await writeFileSynced(path, key, 0o600);
  return key;
}

/** A client's side: the key, or AGENT_UNVERIFIED when there is none to check the pipe's server with. */
export async function readPipeKey(home: string, pipe: string): Promise<Buffer> {
  const path = pipeKeyPath(home);
  const r = await readPipeKeyFile(path);
  if (r.ok) return r.key;
  throw new SandgateError(
    'AGENT_UNVERIFIED',
    `cannot check who serves ${pipe}: the pipe key ${path} ${r.reason} (the agent makes it before it listens)`,
    { params: { socket: pipe, reason: `pipe key ${r.reason}` } },
  );
}

type KeyRead = { ok: true; key: Buffer } | { ok: false; reason: 'missing' | 'is a link' | 'is not a file' | 'has the wrong size' };

async function readPipeKeyFile(path: string): Promise<KeyRead> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!st) return { ok: false, reason: 'missing' };
  if (st.isSymbolicLink()) return { ok: false, reason: 'is a link' };
  if (!st.isFile()) return { ok: false, reason: 'is not a file' };
  const fh = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const fst = await fh.stat();
    // The file opened must be the one checked (not one swapped in since), and whole.
    if (fst.ino !== st.ino || fst.dev !== st.dev) return { ok: false, reason: 'is a link' };
    if (fst.size !== PIPE_KEY_BYTES) return { ok: false, reason: 'has the wrong size' };
    const key = Buffer.alloc(PIPE_KEY_BYTES);
    const { bytesRead } = await fh.read(key, 0, PIPE_KEY_BYTES, 0);
    return bytesRead === PIPE_KEY_BYTES ? { ok: true, key } : { ok: false, reason: 'has the wrong size' };
  } finally {
    await fh.close();
  }
}

function unsafe(path: string, reason: string): SandgateError {
  return new SandgateError('IPC_PATH_UNSAFE', `${path}: ${reason}`, { params: { path, reason } });
}
