import { constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { sandgatePaths } from '../config/paths.ts';
import { createLogger, type Logger } from '../log.ts';

/**
 * The bridge's log: `$SANDGATE_HOME/logs/native-host.log`, or stderr when that cannot be opened. Never stdout, which
 * carries protocol bytes only. O_NOFOLLOW: a link planted at the log path is refused, not written through.
 */
export function createBridgeLogger(home: string): Logger {
  try {
    const logs = sandgatePaths(home).logs;
    mkdirSync(logs, { recursive: true, mode: 0o700 });
    const fd = openSync(
      join(logs, 'native-host.log'),
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0),
      0o600,
    );
    const pid = process.pid;
    return createLogger({ module: `native-host[${pid}]`, write: (line) => void writeSync(fd, line) });
  } catch {
    return createLogger({ module: 'native-host' });
  }
}
