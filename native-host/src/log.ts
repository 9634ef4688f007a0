/**
 * Diagnostic logging. Never to stdout: in the native host stdout carries protocol bytes only, and the CLI keeps it
 * for results. Lines go to stderr (or a file the service was started with) as JSON, with secrets redacted.
 */
import { LOG_LEVEL_ORDER as ORDER, type Logger, type LogLevel } from '@sandgate/shared';

export type { Logger, LogLevel };

const SECRET_KEYS = /token|passphrase|password|secret|authorization|key$/i;

/** Replaces values of secret-looking keys and strips query strings from URLs (they often carry tokens). */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return value.replace(/(https?:\/\/[^\s?#]+)[?#][^\s]*/g, '$1?[redacted]');
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

export function createLogger(opts: { write?: (line: string) => void; level?: LogLevel; module?: string } = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const min = ORDER[opts.level ?? (process.env.SANDGATE_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? ORDER.info;
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const rec = { time: new Date().toISOString(), level, module: opts.module, msg, ...(fields ? (redact(fields) as object) : {}) };
    write(JSON.stringify(rec) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (module) => createLogger({ ...opts, write, module: opts.module ? `${opts.module}.${module}` : module }),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger({ write: () => {} });
