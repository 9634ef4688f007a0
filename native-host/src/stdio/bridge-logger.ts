import { writeSync } from 'node:fs';
import { openLogFile } from '../config/log-file.ts';
import { createLogger, type Logger } from '../log.ts';

/**
 * The bridge's log: `$SANDGATE_HOME/logs/native-host.log`, or stderr when that cannot be opened. Never stdout, which
 * carries protocol bytes only. O_NOFOLLOW: a link planted at the log path is refused, not written through.
 */
export function createBridgeLogger(home: string): Logger {
  try {
    const fd = openLogFile(home, 'native-host.log');
    const pid = process.pid;
    return createLogger({ module: `native-host[${pid}]`, write: (line) => void writeSync(fd, line) });
  } catch {
    return createLogger({ module: 'native-host' });
  }
}
