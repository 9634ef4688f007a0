import { X509Certificate } from 'node:crypto';
import { SandgateError } from '@sandgate/shared';

/**
 * The console CAs an agent pins (`console/console-ca.pem`): one PEM certificate, or several during a CA rotation (the
 * CA in service and the new one). Node's TLS takes the bundle as is; the checks here read each certificate.
 */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** SHA-256 of each pinned CA certificate, lowercase hex, sorted: what heartbeats report as `trustCas`. */
export function pinnedFingerprints(bundle: string): string[] {
  return splitPem(bundle)
    .map((pem) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase())
    .sort();
}

/** Whether `certPem` was issued and signed by one of the CAs of `bundle`. */
export function issuedByOneOf(certPem: string, bundle: string): boolean {
  const x = new X509Certificate(certPem);
  return splitPem(bundle).some((pem) => {
    const ca = new X509Certificate(pem);
    return x.checkIssued(ca) && x.verify(ca.publicKey);
  });
}

/**
 * Checks CAs the console sends to pin (renewal answer, poll `trust`) before they replace the pinned ones: every one a
 * CA certificate, at most four, and at least one of them already pinned: a CA set is moved on step by step (old,
 * then old + new, then new), so a console can never swap the agent's trust for a set it had no part in.
 */
export function checkNewTrust(bundle: string, pinned: string): string {
  const pems = splitPem(bundle);
  if (!pems.length || pems.length > 4)
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', `the console sent ${pems.length} CA certificates to pin (1 to 4 expected)`);
  for (const pem of pems) {
    let ca: X509Certificate;
    try {
      ca = new X509Certificate(pem);
    } catch (err) {
      throw new SandgateError('CONSOLE_RESPONSE_INVALID', `a CA certificate the console sent cannot be read: ${(err as Error).message}`);
    }
    if (!ca.ca) throw new SandgateError('CONSOLE_RESPONSE_INVALID', 'the console sent a certificate to pin that is not a CA');
  }
  const now = new Set(pinnedFingerprints(pinned));
  if (!pinnedFingerprints(bundle).some((f) => now.has(f)))
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', 'the CAs the console sent to pin include none of the pinned ones');
  return pems.join('\n') + '\n';
}
