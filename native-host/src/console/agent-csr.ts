import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type forgeModule from 'node-forge';

// node-forge (42 modules, a few MB of heap) is loaded only when a request is made (enrollment, renewal), not by every
// idle agent that imports this room.
const loadForge = (): typeof forgeModule => createRequire(import.meta.url)('node-forge');

/** A new RSA 2048 key pair for the agent's client certificate, as PKCS#8 PEM. It never leaves the workstation. */
export function newAgentKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * A PKCS#10 request for `keyPem`, signed with it (the console's proof that we hold the key). The subject is only a
 * hint: the console names the agent itself.
 */
export function csrFor(keyPem: string, subjectHint: string): string {
  const forge = loadForge();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forgeModule.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  csr.setSubject([{ name: 'commonName', value: subjectHint }]);
  csr.sign(forgeKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}
