import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { renewRequestSchema, SandgateError, type RenewResponse } from '@sandgate/shared';
import type { Db, Queryable } from '../db/db.ts';
import type { ConsoleCa } from '../pki/console-ca.ts';
import { audit } from '../audit/audit-log.ts';
import { readJson, sendJson } from '../http/http-util.ts';
import { normaliseSerial, peerIdentity } from '../agent-api/peer-identity.ts';

export interface RenewAgentOptions {
  db: Db;
  ca: ConsoleCa;
}

interface RenewalRow {
  cert_serial: string;
  previous_cert_serial: string | null;
  cert_key_sha256: string | null;
  revoked_at: string | null;
}

/**
 * `POST /agent/v1/renew`: a new client certificate for a fresh key, asked for over mutual TLS with the agent's current
 * certificate. The new serial replaces the old one in the same transaction as the audit row, so from the answer on
 * the old certificate is refused (`authenticateAgent` compares serials) and a revoked agent cannot renew.
 *
 * A lost answer must not strand the agent with a certificate the console no longer accepts: the agent keeps the new
 * key and asks again with its old certificate. That retry is honoured only when the old certificate is the one the
 * last renewal replaced (`previous_cert_serial`) and the request is for the key that renewal certified
 * (`cert_key_sha256`): only the agent that made the key can sign for it. Both are read from the agent's row by its
 * primary key, so a refused certificate costs one indexed read, whatever the size of the audit log.
 *
 * Order matters: revocation first (a revoked agent learns nothing else), then which certificate this is, then the
 * requested key; the CA signs last, so a refused request costs no signature.
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
    await audit(o.db, {
      actor: `agent:${peer.agentId}`,
      action: 'agent.renew',
      target: peer.agentId,
      outcome: 'refused',
      details: { code, serial: peer.serial },
    }).catch(() => {});
    throw err;
  }
  sendJson(res, 200, answer);
}

async function renew(o: RenewAgentOptions, req: IncomingMessage, peer: { agentId: string; serial: string }): Promise<RenewResponse> {
  const row = await renewalRow(o.db, peer.agentId);
  if (!row) throw notThisAgents();
  if (row.revoked_at)
    throw new SandgateError(
      'AGENT_REVOKED',
      `The console revoked agent ${peer.agentId} at ${row.revoked_at}; enroll again with a new token`,
    );
  const retry = peer.serial !== row.cert_serial;
  if (retry && (peer.serial !== row.previous_cert_serial || !row.cert_key_sha256)) throw notThisAgents();

  const body = await readJson(req, renewRequestSchema);
  const csr = readCsr(body.csr);
  // The certificate always names the caller; a request that names another agent is someone trying for its identity.
  if (csr.commonName !== undefined && UUID.test(csr.commonName) && csr.commonName.toLowerCase() !== peer.agentId.toLowerCase())
    throw new SandgateError(
      'CONSOLE_CSR_SUBJECT_MISMATCH',
      `The certificate request names agent ${csr.commonName}, but the client certificate is agent ${peer.agentId}'s`,
      { params: { requested: csr.commonName } },
    );
  const keySha256 = csr.keySha256;
  if (keySha256 === peerKeySha256(req))
    throw new SandgateError('MESSAGE_INVALID', 'A renewal needs a new key: the request is for the key of the certificate in use');
  if (retry && keySha256 !== row.cert_key_sha256) throw notThisAgents();

  const cert = o.ca.signAgentCsr(body.csr, peer.agentId);
  const serial = normaliseSerial(cert.serial);
  const notAfter = cert.notAfter.toISOString();
  const trust = o.ca.trustFingerprints.join(',');
  await o.db.transaction(async (tx) => {
    // Conditional on the serial just read: of two renewals racing, one wins and the other is refused. A retry leaves
    // `previous_cert_serial` as it was (the certificate it came with), so a second lost answer can be retried too;
    // the first heartbeat with the new certificate clears it (recordHeartbeat), which ends the retries.
    // The CAs given to pin are recorded only for agents that report what they pin (older ones ignore them).
    const rows = await tx.query(
      `UPDATE agents SET cert_serial = $2, cert_sha256 = $3, cert_not_after = $4, previous_cert_serial = $5, cert_key_sha256 = $6,
              cert_ca_sha256 = $8, trust_cas = CASE WHEN trust_cas IS NULL THEN NULL ELSE $9 END
        WHERE id = $1 AND cert_serial = $7 AND revoked_at IS NULL RETURNING id`,
      [peer.agentId, serial, cert.sha256, notAfter, peer.serial, keySha256, row.cert_serial, cert.caSha256, trust],
    );
    if (!rows.length)
      throw new SandgateError('CONSOLE_CLIENT_CERT_REQUIRED', 'The client certificate is no longer the one this agent holds');
    const details = { serial, previousSerial: peer.serial, keySha256, notAfter, ca: cert.caSha256, ...(retry ? { retry: true } : {}) };
    await audit(tx, { actor: `agent:${peer.agentId}`, action: 'agent.renew', target: peer.agentId, outcome: 'ok', details });
  });
  return { certificate: cert.pem, notAfter, caCertificates: o.ca.trustPem };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function renewalRow(db: Queryable, agentId: string): Promise<RenewalRow | undefined> {
  const rows = await db.query<RenewalRow>(
    'SELECT cert_serial, previous_cert_serial, cert_key_sha256, revoked_at FROM agents WHERE id = $1',
    [agentId],
  );
  return rows[0];
}

function notThisAgents(): SandgateError {
  return new SandgateError('CONSOLE_CLIENT_CERT_REQUIRED', 'The client certificate does not belong to an enrolled agent');
}

/**
 * The SHA-256 of the public key a PKCS#10 request asks to certify, once its signature proves the sender holds the
 * private key (the CA checks that again when it signs), and its subject's common name.
 */
function readCsr(csrPem: string): { keySha256: string; commonName: string | undefined } {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new SandgateError('MESSAGE_INVALID', `The certificate request is not a PEM PKCS#10 request: ${(err as Error).message}`);
  }
  if (!csr.publicKey || !csr.verify()) throw new SandgateError('MESSAGE_INVALID', 'The certificate request signature does not verify');
  const cn = csr.subject.getField('CN') as { value?: unknown } | null;
  return {
    keySha256: spkiSha256(createPublicKey(forge.pki.publicKeyToPem(csr.publicKey))),
    commonName: typeof cn?.value === 'string' ? cn.value : undefined,
  };
}

/** SHA-256 of the public key of the certificate TLS verified for this request. */
function peerKeySha256(req: IncomingMessage): string {
  const x = (req.socket as TLSSocket).getPeerX509Certificate();
  if (!x)
    throw new SandgateError(
      'CONSOLE_CLIENT_CERT_REQUIRED',
      'The console accepts agents only over mutual TLS: it presented no client certificate',
    );
  return spkiSha256(x.publicKey);
}

function spkiSha256(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}
