import { createHash, type X509Certificate } from 'node:crypto';

/** Longer chains than this are not followed (real code-signing chains have two or three links). */
const MAX_DEPTH = 8;

/**
 * Whether `signer` leads, link by link, to a certificate whose SHA-256 (of its DER) is in `pins`: the signer itself,
 * or an issuer found among `embedded` that names it (`checkIssued`), whose key verifies its signature, and which is a
 * CA (basicConstraints). Only certificates carried in the signature are considered; validity dates are not checked
 * (a timestamped signature outlives its certificate), see docs/never-quarantine-publishers.md.
 */
export function chainReachesPin(signer: X509Certificate, embedded: readonly X509Certificate[], pins: ReadonlySet<string>): boolean {
  // Breadth first, each certificate expanded once: however the embedded certificates are crafted, the work stays
  // within (embedded certificates)² signature checks.
  const seen = new Set<X509Certificate>([signer]);
  let level = [signer];
  for (let depth = 0; level.length && depth <= MAX_DEPTH; depth++) {
    const next: X509Certificate[] = [];
    for (const cert of level) {
      if (pins.has(sha256(cert))) return true;
      for (const issuer of embedded) {
        if (seen.has(issuer) || !issuer.ca || !cert.checkIssued(issuer) || !verifies(cert, issuer)) continue;
        seen.add(issuer);
        next.push(issuer);
      }
    }
    level = next;
  }
  return false;
}

function verifies(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export function sha256(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}
