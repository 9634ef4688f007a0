import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { AGENT_API, SandgateError, renewResponseSchema } from '@sandgate/shared';
import { fsyncDir, writeFileAtomic } from '@sandgate/shared/durable-write';
import { consoleFiles, keyMatchesCertificate, type ConsoleCredentials } from './console-files.ts';
import { consoleRequest, type ConsoleRequest } from './console-request.ts';
import { csrFor, newAgentKey } from './agent-csr.ts';
import { checkNewTrust, issuedByOneOf } from './pinned-cas.ts';

const DAY = 86_400_000;
/** Renew when this close to expiry, or past two thirds of the certificate's life, whichever comes first. */
export const RENEW_BEFORE_EXPIRY_MS = 30 * DAY;

/** When the certificate should be renewed: 30 days before it expires, or at two thirds of its life if that is earlier. */
export function renewalDueAt(certPem: string): Date {
  const x = new X509Certificate(certPem);
  const from = Date.parse(x.validFrom);
  const to = Date.parse(x.validTo);
  return new Date(Math.min(to - RENEW_BEFORE_EXPIRY_MS, from + ((to - from) * 2) / 3));
}

export interface RenewOptions {
  home: string;
  credentials: ConsoleCredentials;
  /** The client's TLS settings with the certificate in use (the renewal is authenticated by it). */
  tls: ConsoleRequest['tls'];
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The console process to ask (the first reachable of `console.urls`); the enrollment URL by default. */
  baseUrl?: URL;
}

/**
 * Replaces the agent's client certificate and key: a fresh key (kept as the pending key, 0600, before anything is
 * sent), a CSR for it over the current mutual TLS, and, only once the answer has been checked, the new certificate
 * and key written in place (temporary file, fsync, rename; links replaced, never followed). Any failure leaves the
 * pair in use untouched. A pending key left by an attempt whose answer was lost is asked for again, since the console
 * may already have switched to a certificate for it.
 */
export async function renewCertificate(o: RenewOptions): Promise<{ credentials: ConsoleCredentials; notAfter: string }> {
  const f = consoleFiles(o.home);
  const { enrollment } = o.credentials;
  const key = await pendingKey(f.pendingKey, o.credentials.cert);
  const answer = await consoleRequest(
    {
      method: 'POST',
      url: new URL(AGENT_API.renew, o.baseUrl ?? enrollment.url),
      // The subject names this agent: the console refuses a request naming another (CONSOLE_CSR_SUBJECT_MISMATCH).
      body: { csr: csrFor(key, enrollment.agentId) },
      tls: o.tls,
      timeoutMs: o.timeoutMs ?? 30_000,
      ...(o.signal ? { signal: o.signal } : {}),
    },
    renewResponseSchema,
  );
  // The CAs to pin from now on (during a CA rotation: the one in service and the new one); a console before CA
  // rotation sends none, and the pinned ones stay.
  const ca = answer.caCertificates ? checkNewTrust(answer.caCertificates, o.credentials.ca) : o.credentials.ca;
  checkIssued(answer.certificate, key, ca, enrollment.agentId);
  // The CAs first (they include the ones pinned now, so a crash after them changes nothing), the certificate, then
  // the key by a rename of the pending file: a crash in between leaves a new certificate and the pending key, which
  // readCredentials pairs up at the next start.
  if (ca !== o.credentials.ca) await writeFileAtomic(f.ca, ca, 0o600);
  await writeFileAtomic(f.cert, answer.certificate, 0o600);
  await rename(f.pendingKey, f.key);
  await fsyncDir(f.dir);
  return { credentials: { ...o.credentials, key, cert: answer.certificate, ca }, notAfter: answer.notAfter };
}

/** The pending key of an unfinished renewal, or a new one stored as pending before it is used. */
async function pendingKey(file: string, currentCert: string): Promise<string> {
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8');
    // A key the current certificate already certifies is a leftover, not a renewal under way.
    if (/PRIVATE KEY/.test(kept) && !keyMatchesCertificate(kept, currentCert)) return kept;
  }
  const key = newAgentKey();
  await writeFileAtomic(file, key, 0o600);
  return key;
}

function checkIssued(certPem: string, keyPem: string, caPem: string, agentId: string): void {
  let x: X509Certificate;
  try {
    x = new X509Certificate(certPem);
  } catch (err) {
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', `the renewed certificate cannot be read: ${(err as Error).message}`);
  }
  if (!issuedByOneOf(certPem, caPem))
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', 'the renewed certificate was not issued by a pinned console CA');
  if (!keyMatchesCertificate(keyPem, certPem))
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', 'the renewed certificate is not for the key this agent sent');
  if (!x.subject.split('\n').includes(`CN=${agentId}`))
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', `the renewed certificate does not name agent ${agentId}`);
  if (Date.parse(x.validTo) <= Date.now())
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', 'the renewed certificate has already expired');
}
