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
  /** SHA-256 of the CA certificate that signed it (stored per workstation: which CA its certificate is from). */
  caSha256: string;
}

export interface ConsoleCa {
  /** The CA in service: it issues the console's server certificate and enrollments; `GET /agent/v1/ca` serves it. */
  certPem: string;
  /** SHA-256 of the CA certificate: what admins give `sandgate enroll --ca-fingerprint`. */
  fingerprint: string;
  /** The new CA while a rotation is under way (`sandgate-console ca rotate`): renewals are signed by it. */
  next?: { certPem: string; fingerprint: string; notAfter: Date } | undefined;
  /**
   * What agents pin for the console and what the agents' port accepts client certificates from: the CA in service,
   * and the new one during a rotation (PEM, in that order).
   */
  trustPem: string;
  /** The SHA-256s of `trustPem`'s certificates, sorted (what an agent that pins exactly these reports). */
  trustFingerprints: string[];
  /** The CA renewals are signed by: the new one during a rotation, else the one in service. */
  renewalFingerprint: string;
  /** The console's HTTPS certificate and key, issued by the CA in service for the names it serves. */
  server: { certPem: string; keyPem: string };
  /** Renewal: a client certificate from the renewal CA for an agent, from its PKCS#10 request. */
  signAgentCsr(csrPem: string, agentId: string): IssuedCertificate;
  /** Enrollment: from the CA in service, the one the enrolling agent pinned (a rotation then moves it on its first poll). */
  signEnrollmentCsr(csrPem: string, agentId: string): IssuedCertificate;
}

/** File names in `<data>/ca`; the rotation (ca-rotation.ts) moves the new pair into the in-service names. */
export const CA_FILES = {
  cert: 'ca-cert.pem',
  key: 'ca-key.pem',
  nextCert: 'new-ca-cert.pem',
  nextKey: 'new-ca-key.pem',
  retired: 'retired',
  serverCert: 'server-cert.pem',
  serverKey: 'server-key.pem',
} as const;

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * The console's own CA, kept in `<dataDir>/ca` (folder 0700, files 0600): made on first start, reused afterwards. The
 * server certificate is re-issued whenever the names asked for are not all in it or it is within 30 days of expiry.
 */
export function loadOrCreateCa(dataDir: string, serverNames: string[] = []): ConsoleCa {
  const dir = caDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const caCertFile = join(dir, CA_FILES.cert);
  const caKeyFile = join(dir, CA_FILES.key);
  if (!existsSync(caCertFile) || !existsSync(caKeyFile)) {
    const made = makeCa();
    writePrivate(caKeyFile, made.keyPem);
    writePrivate(caCertFile, made.certPem);
  }
  const inService = readCaPair(caCertFile, caKeyFile, dir);
  const certPem = inService.certPem;
  const nextFile = join(dir, CA_FILES.nextCert);
  const next = existsSync(nextFile) ? readCaPair(nextFile, join(dir, CA_FILES.nextKey), dir) : undefined;

  const names = [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...serverNames])];
  const serverCertFile = join(dir, CA_FILES.serverCert);
  const serverKeyFile = join(dir, CA_FILES.serverKey);
  if (!serverCertCovers(serverCertFile, names, certPem)) {
    const key = generateRsaKey();
    const cert = issue(
      inService.cert,
      inService.key,
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

  const fingerprint = certificateFingerprint(certPem);
  const renewal = next ?? inService;
  const sign = (pair: CaPair, csrPem: string, agentId: string): IssuedCertificate => {
    const publicKey = csrPublicKey(csrPem);
    const cert = issueAgentCertificate(pair.cert, pair.key, publicKey, agentId);
    const pem = forge.pki.certificateToPem(cert);
    return {
      pem,
      serial: cert.serialNumber.toLowerCase(),
      sha256: certificateFingerprint(pem),
      notAfter: cert.validity.notAfter,
      caSha256: pair.fingerprint,
    };
  };
  return {
    certPem,
    fingerprint,
    next: next ? { certPem: next.certPem, fingerprint: next.fingerprint, notAfter: next.cert.validity.notAfter } : undefined,
    trustPem: next ? ensureNewline(certPem) + ensureNewline(next.certPem) : certPem,
    trustFingerprints: [fingerprint, ...(next ? [next.fingerprint] : [])].sort(),
    renewalFingerprint: renewal.fingerprint,
    server: { certPem: readFileSync(serverCertFile, 'utf8'), keyPem: readFileSync(serverKeyFile, 'utf8') },
    signAgentCsr: (csrPem, agentId) => sign(renewal, csrPem, agentId),
    signEnrollmentCsr: (csrPem, agentId) => sign(inService, csrPem, agentId),
  };
}

export function caDir(dataDir: string): string {
  return join(dataDir, 'ca');
}

const ensureNewline = (pem: string) => (pem.endsWith('\n') ? pem : pem + '\n');

interface CaPair {
  certPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  fingerprint: string;
}

function readCaPair(certFile: string, keyFile: string, dir: string): CaPair {
  try {
    const certPem = readFileSync(certFile, 'utf8');
    return {
      certPem,
      cert: forge.pki.certificateFromPem(certPem),
      key: nativeRsaSigner(readFileSync(keyFile, 'utf8')),
      fingerprint: certificateFingerprint(certPem),
    };
  } catch (err) {
    throw new SandgateError('CERTIFICATE_INVALID', `The console CA in ${dir} cannot be read: ${(err as Error).message}`, {
      params: { key: 'ca' },
    });
  }
}

/** The public key a PKCS#10 request asks to certify, once its signature proves the sender holds the private key. */
function csrPublicKey(csrPem: string): forge.pki.rsa.PublicKey {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new SandgateError('MESSAGE_INVALID', `The certificate request is not a PEM PKCS#10 request: ${(err as Error).message}`);
  }
  if (!csr.verify() || !csr.publicKey) throw new SandgateError('MESSAGE_INVALID', 'The certificate request signature does not verify');
  return csr.publicKey as forge.pki.rsa.PublicKey;
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

/**
 * A new CA (3072-bit RSA, ten years). `label` sets it apart from the CA it replaces: two CAs with one subject name in
 * an agent's trust list would leave chain building to tell them apart by key identifiers alone.
 */
export function makeCa(label?: string): { certPem: string; keyPem: string } {
  const key = generateRsaKey(3072);
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.forgePublic;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + CA_DAYS * DAY);
  const subject = [
    { name: 'commonName', value: `Sandgate Console CA ${hostname()}${label ? ` ${label}` : ''}` },
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
