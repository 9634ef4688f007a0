import { constants, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { sandgatePaths } from './paths.ts';

/**
 * Opens `$SANDGATE_HOME/logs/<name>` for appending (folder 0700, file 0600) and returns the descriptor. O_NOFOLLOW: a
 * link planted at the log path is refused, not written through.
 */
export function openLogFile(home: string, name: string): number {
  const logs = sandgatePaths(home).logs;
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  return openSync(join(logs, name), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600);
}
