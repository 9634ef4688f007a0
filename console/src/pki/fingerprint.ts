import { X509Certificate } from 'node:crypto';

/** The SHA-256 fingerprint of a PEM certificate as lowercase hex without separators (how the CLI prints and compares). */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** Accepts what people paste: `SHA256:`, colons, spaces, any case. */
export function normaliseFingerprint(text: string): string {
  return text
    .replace(/^sha-?256:/i, '')
    .replace(/[\s:]/g, '')
    .toLowerCase();
}
