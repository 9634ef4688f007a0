import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SandgateError, type ErrorCode } from '@sandgate/shared';
import type { z } from 'zod';
import { invalidInput } from './parse-request.ts';
import { readBody } from './read-body.ts';

export { admitBody, readBody } from './read-body.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  MESSAGE_INVALID: 400,
  USAGE: 400,
  POLICY_INVALID: 400,
  CONSOLE_CLIENT_CERT_REQUIRED: 401,
  CONSOLE_SESSION_REQUIRED: 401,
  CONSOLE_LOGIN_FAILED: 401,
  AGENT_REVOKED: 403,
  CONSOLE_TOKEN_INVALID: 403,
  CONSOLE_FORBIDDEN: 403,
  CONSOLE_CSRF_REJECTED: 403,
  CONSOLE_NOT_FOUND: 404,
  CONSOLE_BODY_TIMEOUT: 408,
  CONSOLE_CONFLICT: 409,
  CONSOLE_LOGIN_THROTTLED: 429,
  CONSOLE_AGENT_RATE_LIMITED: 429,
  CONSOLE_EVENT_SEQ_INVALID: 400,
  CONSOLE_EVENT_SEQ_AHEAD: 409,
  CONSOLE_EVENT_TOO_LARGE: 413,
  FRAME_TOO_LARGE: 413,
  DATABASE_UNAVAILABLE: 503,
  // An operator's hunt file (issue 18): refused as the file it is.
  CONSOLE_HUNT_FILE_TOO_LARGE: 413,
  CONSOLE_HUNT_FILE_INVALID: 400,
  IOC_FORMAT_UNKNOWN: 400,
  IOC_PARSE_FAILED: 400,
  IOC_UNSUPPORTED_VERSION: 400,
  IOC_FILE_TOO_LARGE: 413,
  STIX_PARSE_FAILED: 400,
  STIX_PATTERN_INVALID: 400,
  YARA_COMPILE_FAILED: 400,
  YARA_UNAVAILABLE: 503,
  // CA rotation (issue 17).
  CONSOLE_CSR_SUBJECT_MISMATCH: 400,
  CONSOLE_CA_ROTATION_STATE: 409,
};

/** Where the console writes what a client must not see (the text of an unexpected error). */
export type LogLine = (line: string) => void;
export const stderrLog: LogLine = (line) => void process.stderr.write(`${line}\n`);

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * `{error: {code, message, retryable, params}}` with the status the code maps to. Anything that is not a coded error
 * (a database error, a bug) is logged with an incident id and answered `500 INTERNAL` with that id only: database text
 * never reaches a client. An answer sent before the request body was read closes the connection, so the console never
 * reads (or waits for) the rest of a body it refused.
 */
export function sendError(res: ServerResponse, err: unknown, log: LogLine = stderrLog): void {
  let status = 500;
  let wire;
  if (err instanceof SandgateError) {
    status = STATUS[err.code] ?? 500;
    wire = err.toWire();
  } else {
    const incident = randomUUID();
    log(`sandgate-console: internal error ${incident} on ${res.req.method ?? '?'} ${pathOf(res.req)}: ${describeInternal(err)}`);
    wire = {
      code: 'INTERNAL',
      message: `An internal error occurred (incident ${incident}; the console's log has the details)`,
      retryable: false,
      params: { incident },
    };
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: wire }, res.req.complete ? {} : { connection: 'close' });
}

/** The path without its query (query values are the client's, possibly a secret typed in the wrong place). */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!.slice(0, 200);
}

/**
 * An error for the log: its class, its SQLSTATE when it has one, and its message with quoted values blanked out
 * (PostgreSQL quotes the offending input, which may be anything a client or an admin sent).
 */
export function describeInternal(err: unknown): string {
  if (!(err instanceof Error)) return 'non-error value thrown';
  const sqlState: unknown = (err as Error & { code?: unknown }).code;
  const code = typeof sqlState === 'string' ? ` [${sqlState}]` : '';
  const message = err.message.replace(/"[^"]*"|'[^']*'/g, '"…"').slice(0, 300);
  return `${err.name}${code}: ${message}`;
}

/** The body as JSON, parsed with `schema`, within the limit `admitBody` set for this request. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const text = (await readBody(req)).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text || 'null');
  } catch {
    throw new SandgateError('MESSAGE_INVALID', 'the request body is not JSON', { params: { in: 'body' } });
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw invalidInput('body', r.error);
  return r.data;
}

/** Splits a path into segments after a prefix: `/api/groups/7/policy` with `/api/` → ['groups','7','policy']. */
export function segments(pathname: string, prefix: string): string[] {
  try {
    return pathname.slice(prefix.length).split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new SandgateError('MESSAGE_INVALID', 'the path is not valid percent-encoding', { params: { in: 'path' } });
  }
}

export function notFound(): SandgateError {
  return new SandgateError('CONSOLE_NOT_FOUND', 'no such resource');
}
