/**
 * The lab's logger. Its shape matches native-host/src/log.ts so a caller (npm start, tests) can hand either in; the lab
 * keeps its own copy because a workspace must not reach into another's sources.
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(module: string): Logger;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** JSON lines on stderr: stdout belongs to the CLI's own output (the URL and certificate path). */
export function stderrLogger(level: Level = 'info', module?: string): Logger {
  const emit = (l: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < ORDER[level]) return;
    process.stderr.write(JSON.stringify({ ...fields, time: new Date().toISOString(), level: l, module, msg }) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (m) => stderrLogger(level, module ? `${module}.${m}` : m),
  };
}

const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger };
