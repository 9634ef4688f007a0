import type { IncomingMessage, ServerResponse } from 'node:http';
import { SandgateError, toWireError, type ErrorCode } from '@sandgate/shared';
import type { z } from 'zod';

/** Bodies larger than this are refused unread: the biggest legitimate one is an event batch. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

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
  CONSOLE_CONFLICT: 409,
  CONSOLE_LOGIN_THROTTLED: 429,
  CONSOLE_AGENT_RATE_LIMITED: 429,
  CONSOLE_EVENT_SEQ_INVALID: 400,
  CONSOLE_EVENT_SEQ_AHEAD: 409,
  CONSOLE_EVENT_TOO_LARGE: 413,
  FRAME_TOO_LARGE: 413,
  DATABASE_UNAVAILABLE: 503,
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** `{error: {code, message, retryable, params}}` with the status the code maps to; unknown errors are a 500 INTERNAL. */
export function sendError(res: ServerResponse, err: unknown): void {
  const wire = toWireError(err);
  const status = err instanceof SandgateError ? (STATUS[err.code] ?? 500) : 500;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: wire });
}

export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SandgateError('FRAME_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new SandgateError('MESSAGE_INVALID', 'the request body is not JSON');
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    throw new SandgateError('MESSAGE_INVALID', `the request body does not match the protocol: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

/** Splits a path into segments after a prefix: `/api/groups/7/policy` with `/api/` → ['groups','7','policy']. */
export function segments(pathname: string, prefix: string): string[] {
  return pathname.slice(prefix.length).split('/').filter(Boolean).map(decodeURIComponent);
}

export function notFound(): SandgateError {
  return new SandgateError('CONSOLE_NOT_FOUND', 'no such resource');
}
