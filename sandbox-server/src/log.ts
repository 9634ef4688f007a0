import { LOG_LEVEL_ORDER as ORDER, type Logger, type LogLevel as Level } from '@sandgate/shared';

export type { Logger };

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
