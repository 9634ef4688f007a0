import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

/** An RSA key pair made by Node's crypto (native, milliseconds) rather than node-forge's JavaScript (seconds). */
export function generateRsaKey(bits = 2048): {
  privateKeyPem: string;
  forgeKey: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
} {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey;
  const forgePublic = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { privateKeyPem, forgeKey, forgePublic };
}

export function randomSerial(): string {
  // Positive (leading 01) and 128 bits of randomness, as CAs are asked to use.
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}
