import forge from 'node-forge';

/**
 * Certificates made at test time (never committed): a CA, and leaves it signs for loopback names. Key generation is
 * the slow part (RSA 2048 ≈ 50–200 ms), so tests make one CA per file.
 */

export interface Pem {
  cert: string;
  key: string;
}

export interface LeafOptions {
  /** DNS names and IP addresses for subjectAltName. Default: localhost, 127.0.0.1, ::1. */
  hosts?: string[];
  /** More DNS-name subjectAltNames, taken as written even when they read like an address. */
  dnsNames?: string[];
  /** Validity window; default: one hour ago to one day ahead. */
  notBefore?: Date;
  notAfter?: Date;
  commonName?: string;
  /** clientAuth instead of serverAuth. */
  client?: boolean;
}

const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'];

export function serial(): string {
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

/** One certificate with a fresh RSA 2048 key, signed by `issuer` (or by itself). The other helpers are shapes of this. */
export function issueCert(o: {
  subject: forge.pki.CertificateField[];
  issuer: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } | 'self';
  extensions: object[];
  notBefore?: Date;
  notAfter?: Date;
}): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = o.notBefore ?? new Date(Date.now() - 3600_000);
  cert.validity.notAfter = o.notAfter ?? new Date(Date.now() + 10 * 86400_000);
  cert.setSubject(o.subject);
  cert.setIssuer(o.issuer === 'self' ? o.subject : o.issuer.cert.subject.attributes);
  cert.setExtensions(o.extensions);
  cert.sign(o.issuer === 'self' ? keys.privateKey : o.issuer.key, forge.md.sha256.create());
  return { cert, key: keys.privateKey };
}

export function makeCa(commonName = 'Sandgate Test CA'): Pem & { forgeCert: forge.pki.Certificate; forgeKey: forge.pki.rsa.PrivateKey } {
  const { cert, key } = issueCert({
    subject: [{ name: 'commonName', value: commonName }],
    issuer: 'self',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
  });
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(key), forgeCert: cert, forgeKey: key };
}

/** A CA, self-signed (a root) or issued by another CA (an intermediate): what makeLeaf and makeIntermediate sign with. */
export type Issuer = ReturnType<typeof makeCa>;

/** An intermediate CA signed by `issuer`: a CA that is not self-signed, as most organisations' issuing CAs are. */
export function makeIntermediate(
  issuer: Issuer,
  commonName = 'Sandgate Test Intermediate CA',
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Issuer {
  const { cert, key } = issueCert({
    subject: [{ name: 'commonName', value: commonName }],
    issuer: { cert: issuer.forgeCert, key: issuer.forgeKey },
    ...validity,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
  });
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(key), forgeCert: cert, forgeKey: key };
}

/** Extensions of a TLS leaf. No names at all leaves subjectAltName out: a certificate naming its host by CN only. */
function leafExtensions(opts: LeafOptions): object[] {
  const hosts = opts.hosts ?? DEFAULT_HOSTS;
  const altNames = [
    ...hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? { type: 7, ip: h } : { type: 2, value: h })),
    ...(opts.dnsNames ?? []).map((value) => ({ type: 2, value })),
  ];
  return [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: !opts.client, clientAuth: !!opts.client },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
  ];
}

export function makeLeaf(ca: Issuer, opts: LeafOptions = {}): Pem {
  const { cert, key } = issueCert({
    subject: [{ name: 'commonName', value: opts.commonName ?? 'localhost' }],
    issuer: { cert: ca.forgeCert, key: ca.forgeKey },
    notBefore: opts.notBefore ?? new Date(Date.now() - 3600_000),
    notAfter: opts.notAfter ?? new Date(Date.now() + 86400_000),
    extensions: leafExtensions(opts),
  });
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(key) };
}

/** A self-signed server certificate (what sandgate-lab makes on first start), for pinning the leaf itself. */
export function makeSelfSigned(opts: LeafOptions = {}): Pem {
  const { cert, key } = issueCert({
    subject: [{ name: 'commonName', value: opts.commonName ?? 'localhost' }],
    issuer: 'self',
    notBefore: opts.notBefore ?? new Date(Date.now() - 3600_000),
    notAfter: opts.notAfter ?? new Date(Date.now() + 86400_000),
    extensions: leafExtensions(opts),
  });
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(key) };
}

/** A PKCS#12 bundle of a leaf, for `clientCertificate.pfx`. */
export function toPfx(pem: Pem, passphrase: string): Buffer {
  const p12 = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(pem.key), [forge.pki.certificateFromPem(pem.cert)], passphrase, {
    algorithm: '3des',
  });
  return Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
}
