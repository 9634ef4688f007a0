import { constants, createPrivateKey, privateEncrypt, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';

/** DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256: what an RSA signature over a SHA-256 digest wraps. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * An RSA private key that node-forge's `cert.sign(key, sha256)` can use, signing with Node's native RSA. forge's
 * JavaScript takes ~130 ms per signature with the console's 3072-bit CA key on this machine, on the console's only
 * thread: an enrollment wave of 10,000 workstations would stall every heartbeat and poll for 20 minutes. Native
 * signing takes ~3 ms. forge hashes the TBS certificate into `md` and asks the key for the signature bytes.
 */
export function nativeRsaSigner(privateKeyPem: string): forge.pki.rsa.PrivateKey {
  const key: KeyObject = createPrivateKey(privateKeyPem);
  const signer = {
    sign(md: forge.md.MessageDigest): string {
      if (md.algorithm !== 'sha256') throw new Error(`native signer: only SHA-256 digests, not ${md.algorithm}`);
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, digest])).toString('binary');
    },
  };
  return signer as unknown as forge.pki.rsa.PrivateKey;
}
