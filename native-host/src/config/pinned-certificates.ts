import { X509Certificate } from 'node:crypto';

/**
 * What each certificate in `sandbox.serverCertificate` does, in the words `sandgate doctor` prints. Every one of them
 * is a trust anchor (`createServerAgent`), so an administrator should see which are CAs: a CA in the file vouches for
 * every server certificate it issues, a server certificate only for itself.
 */
export type PinnedRole = 'root CA' | 'intermediate CA' | 'server certificate (self-signed)' | 'server certificate (CA-issued)';

export interface PinnedCertificate {
  role: PinnedRole;
  /** The subject, one line (`CN=…, O=…`). */
  subject: string;
  validFrom: Date;
  validTo: Date;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, in file order. Throws on one that does not parse (the loader has checked them). */
export function describePinned(pem: string): PinnedCertificate[] {
  return (pem.match(PEM_CERT) ?? []).map((block) => {
    const x = new X509Certificate(block);
    // Not checkIssued: OpenSSL's issuer check wants keyCertSign, which a self-signed server certificate does not have.
    const selfSigned = x.subject === x.issuer && x.verify(x.publicKey);
    const role: PinnedRole = x.ca
      ? selfSigned
        ? 'root CA'
        : 'intermediate CA'
      : selfSigned
        ? 'server certificate (self-signed)'
        : 'server certificate (CA-issued)';
    return { role, subject: x.subject.replace(/\n/g, ', '), validFrom: new Date(x.validFrom), validTo: new Date(x.validTo) };
  });
}
