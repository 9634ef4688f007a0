import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import type { Logger } from '../log.ts';
import { writeFileAtomic } from '@sandgate/shared/durable-write';

export interface LabCertificate {
  /** The PEM an agent pins as `sandbox.serverCertificate`. */
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
  /** True when this call made a new certificate (the pin changed). */
  created: boolean;
}

const VALID_DAYS = 825;
/** A certificate this close to expiry is replaced at start rather than left to fail mid-run. */
const RENEW_BEFORE_MS = 86400_000;

/** Bind addresses that are not one address an agent could put in its URL. */
const WILDCARDS = new Set(['', '0.0.0.0', '::']);
const HOST_NAME = /^[a-zA-Z0-9.-]{1,253}$/;

/** The bind address (`--host`) as a certificate must name it, or undefined for a wildcard bind. */
function boundName(bindHost: string | undefined): string | undefined {
  if (bindHost === undefined || WILDCARDS.has(bindHost)) return undefined;
  return isIP(bindHost) || HOST_NAME.test(bindHost) ? bindHost : undefined;
}

/**
 * The names an agent may use for this machine: loopback in all spellings, the host name, and the address or name the
 * lab was told to bind (`--host`), so that `--host fd00::5` gives a certificate an agent reaching `https://[fd00::5]`
 * accepts.
 */
export function labCertificateHosts(host = hostname(), bindHost?: string): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  if (host && !names.includes(host) && HOST_NAME.test(host)) names.push(host);
  const bound = boundName(bindHost);
  if (bound && !names.includes(bound)) names.push(bound);
  return names;
}

/**
 * Reuses `tlsDir/{cert,key}.pem` when they are a valid pair that names the bind address, otherwise makes a
 * self-signed certificate. The key pair comes from node:crypto (forge's pure-JS RSA takes seconds); forge only builds
 * and signs the X.509 structure.
 */
export async function ensureLabCertificate(tlsDir: string, log: Logger, bindHost?: string): Promise<LabCertificate> {
  const certPath = join(tlsDir, 'cert.pem');
  const keyPath = join(tlsDir, 'key.pem');
  await fsp.mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const existing = await readPair(certPath, keyPath);
  const bound = boundName(bindHost);
  // Only the bind address is required of an existing certificate: one made before the machine was renamed keeps
  // serving, and so does its pin.
  if (existing && (bound === undefined || certificateNames(existing.cert, bound)))
    return { certPath, keyPath, ...existing, created: false };
  // Moved to an address its certificate does not name: agents would refuse it there anyway, so a new one is made, and
  // said out loud because the pin changes.
  if (existing)
    log.warn('the certificate does not name the address the lab now serves; making a new one (agents must pin it again)', {
      host: bound,
      certPath,
    });

  const hosts = labCertificateHosts(hostname(), bindHost);
  const { cert, key } = makeSelfSigned(hosts);
  // Key first: a crash between the two writes leaves a key without a certificate, which the next start replaces.
  await writeFileAtomic(keyPath, key, 0o600);
  await fsp.chmod(keyPath, 0o600);
  await writeFileAtomic(certPath, cert, 0o644);
  log.info('made a self-signed certificate', { certPath });
  return { certPath, keyPath, cert, key, created: true };
}

async function readPair(certPath: string, keyPath: string): Promise<{ cert: string; key: string } | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([fsp.readFile(certPath, 'utf8'), fsp.readFile(keyPath, 'utf8')]);
  } catch {
    return undefined;
  }
  try {
    const x509 = new X509Certificate(cert);
    if (Date.parse(x509.validTo) - Date.now() < RENEW_BEFORE_MS) return undefined;
    if (!x509.checkPrivateKey(createPrivateKey(key))) return undefined;
  } catch {
    return undefined;
  }
  return { cert, key };
}

/** Whether the certificate names `host` in a subjectAltName (an IP address as an address, a name as a DNS name). */
function certificateNames(cert: string, host: string): boolean {
  const x509 = new X509Certificate(cert);
  return (isIP(host) ? x509.checkIP(host) : x509.checkHost(host, { subject: 'never', wildcards: false })) !== undefined;
}

export function makeSelfSigned(hosts: string[]): { cert: string; key: string } {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const privateKey = forge.pki.privateKeyFromPem(pair.privateKey);
  const c = forge.pki.createCertificate();
  c.publicKey = forge.pki.publicKeyFromPem(pair.publicKey);
  // Positive serial: a leading 0x01 byte keeps the DER integer from reading as negative.
  c.serialNumber = '01' + randomBytes(15).toString('hex');
  c.validity.notBefore = new Date(Date.now() - 3600_000);
  c.validity.notAfter = new Date(Date.now() + VALID_DAYS * 86400_000);
  const subject = [
    { name: 'commonName', value: 'sandgate-lab' },
    { name: 'organizationName', value: 'Sandgate lab (self-signed)' },
  ];
  c.setSubject(subject);
  c.setIssuer(subject);
  c.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    { name: 'subjectKeyIdentifier' },
  ]);
  c.sign(privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c), key: pair.privateKey };
}
