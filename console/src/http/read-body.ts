import type { IncomingMessage } from 'node:http';
import { SandgateError, type BodyLimit } from '@sandgate/shared';

/** For a request whose route set no limit (the control socket): small, as every body there is. */
export const DEFAULT_BODY_LIMIT: BodyLimit = { maxBytes: 64 * 1024, timeoutMs: 30_000 };

const limits = new WeakMap<IncomingMessage, BodyLimit>();

/**
 * Sets the body limit of this request's route, before anything else is done with it (authentication included): a
 * declared `Content-Length` over the limit is refused here, before a byte of the body is read. `readBody` then holds
 * the request to the same limit. `maxTimeoutMs` shortens the route's wait (the console's `bodyTimeoutMs`).
 */
export function admitBody(req: IncomingMessage, routeLimit: BodyLimit, maxTimeoutMs?: number): void {
  const limit = maxTimeoutMs ? { ...routeLimit, timeoutMs: Math.min(routeLimit.timeoutMs, maxTimeoutMs) } : routeLimit;
  limits.set(req, limit);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit.maxBytes) throw tooLarge(limit);
}

/**
 * The whole body, counted as it arrives (a chunked body declares no length): refused once it passes the limit, or
 * when it has not all arrived within the limit's time (a client sending a byte now and then holds no memory for long).
 */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  const limit = limits.get(req) ?? DEFAULT_BODY_LIMIT;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (err?: Error) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (!err) return resolve(Buffer.concat(chunks));
      // Stop reading: the error answer closes the connection (sendError), so the rest of the body is never read.
      req.pause();
      chunks.length = 0;
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit.maxBytes) return settle(tooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => settle();
    const onError = (err: Error) => settle(err);
    const onClose = () => settle(new SandgateError('MESSAGE_INVALID', 'the client closed the connection before sending the whole body'));
    const timer = setTimeout(
      () =>
        settle(
          new SandgateError('CONSOLE_BODY_TIMEOUT', `the request body did not arrive within ${limit.timeoutMs / 1000} s`, {
            params: { timeoutSeconds: limit.timeoutMs / 1000 },
          }),
        ),
      limit.timeoutMs,
    );
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

function tooLarge(limit: BodyLimit): SandgateError {
  return new SandgateError('FRAME_TOO_LARGE', `this request's body may hold at most ${limit.maxBytes} bytes`, {
    params: { maxBytes: limit.maxBytes },
  });
}
