import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { userInfo } from 'node:os';

/**
 * The one function that says where the agent listens. On POSIX a Unix socket inside `$SANDGATE_HOME/run`, a folder
 * of mode 0700, so only the same user can open it; on Windows a named pipe whose name is derived from the user and the
 * home. A pipe name is anyone's to take and its default access list lets everyone read, so on Windows both ends check
 * each other before a request crosses it (pipe-peer.ts; docs/decisions.md says what is left).
 */
export function agentSocketPath(home: string): string {
  if (process.platform === 'win32') {
    const tag = createHash('sha256').update(home).digest('hex').slice(0, 16);
    return `\\\\.\\pipe\\sandgate-${userInfo().username}-${tag}`;
  }
  return join(home, 'run', 'agent.sock');
}
