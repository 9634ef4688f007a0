import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Decides whether a request comes from a client the lab serves. */
export type ClientAuth = (req: IncomingMessage) => boolean;

/**
 * A client is served when it sends the lab's bearer token (`Authorization: Bearer …`) or, when the lab was given a
 * client CA, presented a client certificate that CA issued (the TLS layer verified it; `authorized` says so).
 *
 * The token is compared in constant time over SHA-256 digests, so neither its content nor its length leaks through
 * how long a refusal takes.
 */
export function createClientAuth(opts: { token: string; clientCa: boolean }): ClientAuth {
  const expected = digest(opts.token);
  return (req) => {
    if (opts.clientCa && (req.socket as TLSSocket).authorized === true) return true;
    const header = req.headers.authorization;
    if (typeof header !== 'string') return false;
    const m = /^Bearer[ ]+(\S{1,1024})\s*$/i.exec(header);
    return m !== null && timingSafeEqual(digest(m[1]!), expected);
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
