import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { issueAgentCertificate } from '#console/pki/console-ca.ts';
import { nativeRsaSigner } from '#console/pki/native-signer.ts';
import { normaliseSerial } from '#console/agent-api/peer-identity.ts';

export interface IssuedAgentCert {
  certPem: string;
  /** As the console stores it (lower case, no leading zeros). */
  serial: string;
}

/**
 * Client certificates for simulated agents, issued from `<dataDir>/ca` by the console's own `issueAgentCertificate`
 * (what enrollment's `signAgentCsr` uses), in this process rather than through enrollment so that 10,000 agents exist in seconds. All simulated agents share
 * one key pair (the console checks an agent's CN and serial, not that keys differ), which saves 10,000 key generations.
 */
export function agentCertIssuer(dataDir: string): { keyPem: string; issue(agentId: string): IssuedAgentCert } {
  const caCert = forge.pki.certificateFromPem(readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8'));
  const caKey = nativeRsaSigner(readFileSync(join(dataDir, 'ca', 'ca-key.pem'), 'utf8'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const fk = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(fk.n, fk.e);
  return {
    keyPem,
    issue(agentId) {
      const cert = issueAgentCertificate(caCert, caKey, publicKey, agentId);
      return { certPem: forge.pki.certificateToPem(cert), serial: normaliseSerial(cert.serialNumber) };
    },
  };
}
