import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { SandgateError } from '@sandgate/shared';

/**
 * The agent id and certificate serial from a client certificate that TLS verified against the console CA. The server
 * asks for a certificate but lets the handshake finish without one (enrollment needs that), so every agent route must
 * go through here: no verified certificate, no answer.
 */
export function peerIdentity(req: IncomingMessage): { agentId: string; serial: string } {
  const socket = req.socket as TLSSocket;
  const known = identities.get(socket);
  if (known) return known;
  const identity = readIdentity(socket);
  identities.set(socket, identity);
  return identity;
}

/**
 * Identities read per connection: building the peer certificate's object (fingerprints, fields) per request was the
 * console's largest JavaScript cost at fleet size, and an agent's poll, acknowledgement and next poll share one
 * connection. Sound only because the agents' server refuses renegotiation (`refuseRenegotiation`): the certificate a
 * connection was verified with cannot change under it. A refusal is not kept: it is thrown again on each request.
 */
const identities = new WeakMap<TLSSocket, { agentId: string; serial: string }>();

/**
 * TLS 1.2 lets a client renegotiate and present another certificate on the same connection; agents never need to, and
 * the identity kept per connection above depends on it not happening. Call on every connection of the agents' server.
 */
export function refuseRenegotiation(socket: TLSSocket): void {
  socket.disableRenegotiation();
}

function readIdentity(socket: TLSSocket): { agentId: string; serial: string } {
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  if (!socket.authorized || !cert || !cert.subject) {
    const why =
      cert && cert.subject
        ? `its certificate was not issued by this console (${socket.authorizationError ?? 'unverified'})`
        : 'it presented no client certificate';
    throw new SandgateError('CONSOLE_CLIENT_CERT_REQUIRED', `The console accepts agents only over mutual TLS: ${why}`);
  }
  const cn = cert.subject.CN;
  const agentId = Array.isArray(cn) ? cn[0] : cn;
  if (!agentId) throw new SandgateError('CONSOLE_CLIENT_CERT_REQUIRED', 'The client certificate names no agent');
  return { agentId, serial: normaliseSerial(cert.serialNumber) };
}

/** Hex serials compared without case or leading zeros (Node and node-forge print them differently). */
export function normaliseSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, '');
}
