import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where Sandgate keeps its state. `SANDGATE_HOME` wins; otherwise a per-OS default for the current user.
 * Every other path is derived from the home here and nowhere else.
 */
export function sandgateHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SANDGATE_HOME) return resolve(env.SANDGATE_HOME);
  switch (process.platform) {
    case 'win32':
      return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'Sandgate');
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Sandgate');
    default:
      return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'sandgate');
  }
}

export interface SandgatePaths {
  home: string;
  queue: string;
  quarantine: string;
  events: string;
  run: string;
  logs: string;
  bin: string;
  /** Downloads the agent holds in place for a browser, one record each (see hold/hold-ledger.ts). */
  holds: string;
  /** The policy file looked up when no --policy is given. */
  defaultPolicy: string;
}

export function sandgatePaths(home = sandgateHome()): SandgatePaths {
  return {
    home,
    queue: join(home, 'queue'),
    quarantine: join(home, 'quarantine'),
    events: join(home, 'events'),
    run: join(home, 'run'),
    logs: join(home, 'logs'),
    bin: join(home, 'bin'),
    holds: join(home, 'holds'),
    defaultPolicy: join(home, 'policy.json'),
  };
}
