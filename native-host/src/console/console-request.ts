import { request, type Agent as HttpsAgent, type RequestOptions } from 'node:https';
import type { z } from 'zod';
import { SandgateError, sandgateErrorFromWire, wireErrorSchema } from '@sandgate/shared';

export interface ConsoleRequest {
  method: 'GET' | 'POST';
  url: URL;
  body?: unknown;
  /** TLS: the pinned CA, and the client certificate once enrolled. */
  tls: Pick<RequestOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'agent'> & { agent?: HttpsAgent };
  timeoutMs: number;
  signal?: AbortSignal;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * One HTTPS call to the console, answered with JSON that `schema` must accept. A coded error from the console comes
 * back as that SandgateError (AGENT_REVOKED…); a network fault as CONSOLE_UNREACHABLE; TLS faults keep their reason.
 */
export function consoleRequest<S extends z.ZodType>(r: ConsoleRequest, schema: S): Promise<z.infer<S>> {
  return new Promise((resolve, reject) => {
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    const req = request(
      r.url,
      {
        method: r.method,
        ...r.tls,
        headers: payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {},
        ...(r.signal ? { signal: r.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(unreachable(r.url, err)));
        res.on('end', () => {
          clearTimeout(timer);
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reject(
              new SandgateError('CONSOLE_RESPONSE_INVALID', `${r.url.origin} answered ${res.statusCode} with something that is not JSON`),
            );
          }
          if (res.statusCode !== 200) {
            const e = wireErrorSchema.safeParse((body as { error?: unknown } | null)?.error);
            return reject(
              e.success
                ? sandgateErrorFromWire(e.data)
                : new SandgateError('CONSOLE_RESPONSE_INVALID', `${r.url.origin} answered ${res.statusCode}`),
            );
          }
          const parsed = schema.safeParse(body);
          if (!parsed.success)
            return reject(
              new SandgateError(
                'CONSOLE_RESPONSE_INVALID',
                `${r.url.origin} answered with an unexpected shape: ${parsed.error.issues[0]?.message ?? ''}`,
              ),
            );
          resolve(parsed.data);
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new SandgateError('CONSOLE_UNREACHABLE', `${r.url.origin} did not answer within ${r.timeoutMs} ms`)),
      r.timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof SandgateError ? err : unreachable(r.url, err));
    });
    req.end(payload);
  });
}

function unreachable(url: URL, err: NodeJS.ErrnoException): SandgateError {
  const code = err.code ?? '';
  if (err.name === 'AbortError') return new SandgateError('CONSOLE_UNREACHABLE', 'the request was cancelled', { cause: err });
  if (NETWORK_CODES.has(code))
    return new SandgateError('CONSOLE_UNREACHABLE', `${url.origin} could not be reached (${code})`, { cause: err });
  if (/CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_VERIFY/.test(code)) {
    return new SandgateError(
      'TLS_CERTIFICATE_REJECTED',
      `${url.origin} presented a certificate the pinned console CA does not vouch for (${code})`,
      { cause: err },
    );
  }
  // The server closing the handshake (a revoked or foreign client certificate) lands here too.
  return new SandgateError('CONSOLE_UNREACHABLE', `${url.origin}: ${err.message}`, { cause: err });
}
