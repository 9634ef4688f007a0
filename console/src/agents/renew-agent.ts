import { createHash, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { renewRequestSchema, SandgateError, type RenewResponse } from '@sandgate/shared';
import type { Db, Queryable } from '../db/db.ts';
import type { ConsoleCa, IssuedCertificate } from '../pki/console-ca.ts';
import { audit } from '../audit/audit-log.ts';
import { readJson, sendJson } from '../http/http-util.ts';
import { normaliseSerial, peerIdentity } from '../agent-api/peer-identity.ts';
import { authenticateAgent } from './agents.ts';

export interface RenewAgentOptions {
  db: Db;
  ca: ConsoleCa;
}

/** What the audit row of a renewal records; the retry check below reads it back. */
interface RenewDetails {
  serial: string;
  previousSerial: string;
  keySha256: string;
  notAfter: string;
}

/**
 * `POST /agent/v1/renew`: a new client certificate for a fresh key, asked for over mutual TLS with the agent's current
 * certificate. The new serial replaces the old one in the same transaction as the audit row, so from the answer on
 * the old certificate is refused (`authenticateAgent` compares serials) and a revoked agent cannot renew.
 *
 * A lost answer must not strand the agent with a certificate the console no longer accepts: the agent keeps the new
 * key and asks again with its old certificate. That retry is honoured only when the old certificate is the one the
 * last renewal replaced, the current certificate is still that renewal's, and the request is signed by the key that
 * renewal certified (only the agent that made the key can sign for it). The previous serial lives in the audit row of
 * the renewal rather than in the agents table, which keeps this change free of a migration; a `previous_cert_serial`
 * column would be its natural home.
 *
 * Call it before the generic agent authentication (it authenticates itself, with that one exception).
 */
export async function renewAgent(o: RenewAgentOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const peer = peerIdentity(req);
  let answer: RenewResponse;
  try {
    answer = await renew(o, req, peer);
  } catch (err) {
    // Refusals are audited like enrollment's: a revoked or superseded certificate trying to renew is worth seeing.
    const code = err instanceof SandgateError ? err.code : 'INTERNAL';
    await audit(o.db, { actor: `agent:${peer.agentId}`, action: 'agent.renew', target: peer.agentId, outcome: 'refused', details: { code, serial: peer.serial } }).catch(() => {});
    throw err;
  }
  sendJson(res, 200, answer);
}

async function renew(o: RenewAgentOptions, req: IncomingMessage, peer: { agentId: string; serial: string }): Promise<RenewResponse> {
  const body = await readJson(req, renewRequestSchema);
  let retry: RenewDetails | undefined;
  try {
    await authenticateAgent(o.db, peer.agentId, peer.serial);
  } catch (err) {
    if (!(err instanceof SandgateError) || err.code !== 'CONSOLE_CLIENT_CERT_REQUIRED') throw err;
    retry = await lastRenewalReplacing(o.db, peer.agentId, peer.serial);
    if (!retry) throw err;
  }

  const cert: IssuedCertificate = o.ca.signAgentCsr(body.csr, peer.agentId);
  const keySha256 = keySha256Of(cert.pem);
  if (keySha256 === peerKeySha256(req)) throw new SandgateError('MESSAGE_INVALID', 'A renewal needs a new key: the request is for the key of the certificate in use');
  if (retry && keySha256 !== retry.keySha256) throw new SandgateError('CONSOLE_CLIENT_CERT_REQUIRED', 'The client certificate does not belong to an enrolled agent');

  const serial = normaliseSerial(cert.serial);
  const details: RenewDetails = { serial, previousSerial: peer.serial, keySha256, notAfter: cert.notAfter.toISOString() };
  await o.db.transaction(async (tx) => {
    // Conditional on the serial just checked: of two renewals racing, one wins and the other is refused.
    const rows = await tx.query(
      `UPDATE agents SET cert_serial = $2, cert_sha256 = $3, cert_not_after = $4
        WHERE id = $1 AND cert_serial = $5 AND revoked_at IS NULL RETURNING id`,
      [peer.agentId, serial, cert.sha256, details.notAfter, retry ? retry.serial : peer.serial],
    );
    if (!rows.length) throw new SandgateError('CONSOLE_CLIENT_CERT_REQUIRED', 'The client certificate is no longer the one this agent holds');
    await audit(tx, { actor: `agent:${peer.agentId}`, action: 'agent.renew', target: peer.agentId, outcome: 'ok', details: { ...details, ...(retry ? { retry: true } : {}) } });
  });
  return { certificate: cert.pem, notAfter: details.notAfter };
}

/** The last successful renewal of this agent, if it replaced the certificate with `serial` and is still in force. */
async function lastRenewalReplacing(db: Queryable, agentId: string, serial: string): Promise<RenewDetails | undefined> {
  const rows = await db.query<{ details: Partial<RenewDetails>; cert_serial: string; revoked_at: string | null }>(
    `SELECT l.details, a.cert_serial, a.revoked_at FROM audit_log l JOIN agents a ON a.id = $1
      WHERE l.actor = $2 AND l.action = 'agent.renew' AND l.outcome = 'ok' ORDER BY l.id DESC LIMIT 1`,
    [agentId, `agent:${agentId}`],
  );
  const r = rows[0];
  if (!r || r.revoked_at) return undefined;
  const d = r.details;
  if (d.previousSerial !== serial || d.serial !== r.cert_serial || !d.keySha256 || !d.notAfter) return undefined;
  return { serial: d.serial, previousSerial: d.previousSerial, keySha256: d.keySha256, notAfter: d.notAfter };
}

function keySha256Of(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** SHA-256 of the public key of the certificate TLS verified for this request. */
function peerKeySha256(req: IncomingMessage): string {
  const x = (req.socket as TLSSocket).getPeerX509Certificate();
  if (!x) throw new SandgateError('CONSOLE_CLIENT_CERT_REQUIRED', 'The console accepts agents only over mutual TLS: it presented no client certificate');
  return createHash('sha256').update(x.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}
