import { createHash, timingSafeEqual, verify, X509Certificate } from 'node:crypto';
import type { AuthenticodeSignature } from './authenticode-signature.ts';
import { certificateIds } from './authenticode-signature.ts';
import { fail } from './der.ts';
import { publisherName } from './publisher-name.ts';

export interface VerifiedSigner {
  /** Subject O of the signing certificate, or its CN when it has no O. */
  publisher: string;
  signer: X509Certificate;
  /** Every certificate embedded in the signature (the signer among them), for the chain walk. */
  embedded: X509Certificate[];
}

const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const MAX_CERTIFICATES = 32;
/**
 * Bounds on the keys of embedded certificates. The chain walk may check 32 × 32 signatures, and with a crafted key
 * (a 16384-bit modulus, or a public exponent as long as the modulus) each check costs as much as a private-key
 * operation; real code-signing chains use RSA up to 4096 bits with exponent 65537, or the NIST curves.
 */
const MAX_RSA_BITS = 4096;
const MAX_RSA_EXPONENT = 2n ** 32n;
const CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/**
 * Checks that a signature vouches for these bytes and was made with the key of an embedded certificate: the image
 * digest recomputed from the file (`imageDigest`) is the one in SpcIndirectDataContent; the messageDigest attribute is
 * the digest of SpcIndirectDataContent; the signature over the authenticated attributes verifies with the signing
 * certificate's key. Who that certificate belongs to is decided by the chain walk (certificate-chain.ts), not here.
 * Throws UnverifiableSignature.
 */
export function verifyAuthenticode(sig: AuthenticodeSignature, imageDigest: Buffer): VerifiedSigner {
  if (!equal(imageDigest, sig.imageDigest)) fail('the file does not match its signature (image digest differs)');
  const contentDigest = createHash(sig.signer.digestAlgorithm).update(sig.indirectContent).digest();
  if (!equal(contentDigest, sig.signer.messageDigest))
    fail('the signed attributes do not match the signed content (messageDigest differs)');

  // Real signatures carry a handful (signer, intermediates, timestamping authority); the chain walk is quadratic in them.
  if (sig.certificates.length > MAX_CERTIFICATES) fail(`more than ${MAX_CERTIFICATES} certificates in the signature`);
  let embedded: X509Certificate[];
  try {
    embedded = sig.certificates.map((der) => new X509Certificate(der));
  } catch {
    return fail('an embedded certificate does not parse');
  }
  if (!embedded.every(boundedKey)) fail('an embedded certificate has a key of an unsupported type or size');
  const index = sig.certificates.findIndex((der) => {
    const ids = certificateIds(der);
    return equal(ids.issuer, sig.signer.issuer) && equal(ids.serial, sig.signer.serial);
  });
  if (index < 0) fail('the signing certificate is not embedded in the signature');
  const signer = embedded[index]!;
  const eku = signer.keyUsage;
  // No extended key usage means any purpose; one that is present must allow code signing.
  if (eku && eku.length && !eku.includes(EKU_CODE_SIGNING)) fail('the signing certificate is not for code signing');

  let ok = false;
  try {
    ok = verify(sig.signer.digestAlgorithm, sig.signer.signedAttributes, signer.publicKey, sig.signer.signature);
  } catch {
    ok = false;
  }
  if (!ok) fail('the signature does not verify with the signing certificate');
  return { publisher: publisherName(certificateIds(sig.certificates[index]!).subject), signer, embedded };
}

function boundedKey(cert: X509Certificate): boolean {
  try {
    const key = cert.publicKey;
    const d = key.asymmetricKeyDetails ?? {};
    if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
      return !!d.modulusLength && d.modulusLength <= MAX_RSA_BITS && d.publicExponent !== undefined && d.publicExponent < MAX_RSA_EXPONENT;
    }
    return key.asymmetricKeyType === 'ec' ? CURVES.has(d.namedCurve ?? '') : key.asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
