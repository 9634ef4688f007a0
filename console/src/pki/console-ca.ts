import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import { SandgateError } from '@sandgate/shared';
import { certificateFingerprint } from './fingerprint.ts';
import { generateRsaKey, randomSerial } from './generate-key.ts';
import { nativeRsaSigner } from './native-signer.ts';

const DAY = 86_400_000;
const CA_DAYS = 3650;
const SERVER_DAYS = 397;
/** Agent certificates; agents renew theirs over the mutual-TLS channel at two thirds of this (`POST /agent/v1/renew`). */
export const AGENT_CERT_DAYS = 365;

export interface IssuedCertificate {
  pem: string;
  serial: string;
  sha256: string;
  notAfter: Date;
}

export interface ConsoleCa {
  certPem: string;
  /** SHA-256 of the CA certificate: what admins give `sandgate enroll --ca-fingerprint`. */
  fingerprint: string;
  /** The console's HTTPS certificate and key, issued by the CA for the names it serves. */
  server: { certPem: string; keyPem: string };
  /** Issues a client certificate for an agent from its PKCS#10 request. The request's subject is ignored. */
  signAgentCsr(csrPem: string, agentId: string): IssuedCertificate;
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * The console's own CA, kept in `<dataDir>/ca` (folder 0700, files 0600): made on first start, reused afterwards. The
 * server certificate is re-issued whenever the names asked for are not all in it or it is within 30 days of expiry.
 */
export function loadOrCreateCa(dataDir: string, serverNames: string[] = []): ConsoleCa {
  const dir = join(dataDir, 'ca');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const caCertFile = join(dir, 'ca-cert.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  if (!existsSync(caCertFile) || !existsSync(caKeyFile)) {
    const made = makeCa();
    writePrivate(caKeyFile, made.keyPem);
    writePrivate(caCertFile, made.certPem);
  }
  const certPem = readFileSync(caCertFile, 'utf8');
  let caCert: forge.pki.Certificate;
  let caKey: forge.pki.rsa.PrivateKey;
  try {
    caCert = forge.pki.certificateFromPem(certPem);
    caKey = nativeRsaSigner(readFileSync(caKeyFile, 'utf8'));
  } catch (err) {
    throw new SandgateError('CERTIFICATE_INVALID', `The console CA in ${dir} cannot be read: ${(err as Error).message}`, {
      params: { key: 'ca' },
    });
  }

  const names = [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...serverNames])];
  const serverCertFile = join(dir, 'server-cert.pem');
  const serverKeyFile = join(dir, 'server-key.pem');
  if (!serverCertCovers(serverCertFile, names, certPem)) {
    const key = generateRsaKey();
    const cert = issue(
      caCert,
      caKey,
      key.forgePublic,
      [{ name: 'commonName', value: names.find((n) => !isIP(n) && n !== 'localhost') ?? 'localhost' }],
      SERVER_DAYS,
      [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
      ],
    );
    writePrivate(serverKeyFile, key.privateKeyPem);
    // The chain (leaf + CA) so an agent can see the CA during the pinning step.
    writePrivate(serverCertFile, forge.pki.certificateToPem(cert) + certPem);
  }

  return {
    certPem,
    fingerprint: certificateFingerprint(certPem),
    server: { certPem: readFileSync(serverCertFile, 'utf8'), keyPem: readFileSync(serverKeyFile, 'utf8') },
    signAgentCsr(csrPem, agentId) {
      let csr: forge.pki.CertificateSigningRequest;
      try {
        csr = forge.pki.certificationRequestFromPem(csrPem);
      } catch (err) {
        throw new SandgateError('MESSAGE_INVALID', `The certificate request is not a PEM PKCS#10 request: ${(err as Error).message}`);
      }
      // Proof that the agent holds the private key of the public key it asks us to certify.
      if (!csr.verify() || !csr.publicKey) throw new SandgateError('MESSAGE_INVALID', 'The certificate request signature does not verify');
      const cert = issueAgentCertificate(caCert, caKey, csr.publicKey as forge.pki.rsa.PublicKey, agentId);
      const pem = forge.pki.certificateToPem(cert);
      return { pem, serial: cert.serialNumber.toLowerCase(), sha256: certificateFingerprint(pem), notAfter: cert.validity.notAfter };
    },
  };
}

/** An agent's client certificate: CN = the agent id (what the console authenticates), OU sandgate-agent, clientAuth. */
export function issueAgentCertificate(
  caCert: forge.pki.Certificate,
  caKey: forge.pki.rsa.PrivateKey,
  publicKey: forge.pki.rsa.PublicKey,
  agentId: string,
): forge.pki.Certificate {
  return issue(
    caCert,
    caKey,
    publicKey,
    [
      { name: 'commonName', value: agentId },
      { name: 'organizationalUnitName', value: 'sandgate-agent' },
    ],
    AGENT_CERT_DAYS,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  );
}

function makeCa(): { certPem: string; keyPem: string } {
  const key = generateRsaKey(3072);
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.forgePublic;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + CA_DAYS * DAY);
  const subject = [
    { name: 'commonName', value: `Sandgate Console CA ${hostname()}` },
    { name: 'organizationName', value: 'Sandgate' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key.forgeKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: key.privateKeyPem };
}

function issue(
  caCert: forge.pki.Certificate,
  caKey: forge.pki.rsa.PrivateKey,
  publicKey: forge.pki.rsa.PublicKey,
  subject: forge.pki.CertificateField[],
  days: number,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  // An hour back: a workstation whose clock runs a little slow must still accept it.
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + days * DAY);
  cert.setSubject(subject);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([...extensions, { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() }]);
  cert.sign(caKey, forge.md.sha256.create());
  return cert;
}

function serverCertCovers(file: string, names: string[], caPem: string): boolean {
  if (!existsSync(file)) return false;
  try {
    const x = new X509Certificate(readFileSync(file, 'utf8'));
    if (!x.checkIssued(new X509Certificate(caPem))) return false;
    if (new Date(x.validTo).getTime() - Date.now() < 30 * DAY) return false;
    const san = x.subjectAltName ?? '';
    return names.every((n) => (isIP(n) ? x.checkIP(n) !== undefined : san.includes(`DNS:${n}`)));
  } catch {
    return false;
  }
}
