import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { makeCa } from './pki.ts';

/**
 * Authenticode signing at test time: a code-signing chain made with node-forge (root CA → optional intermediate →
 * leaf with extKeyUsage codeSigning and the publisher as subject O), and osslsigncode to sign PE files with it.
 * osslsigncode is required (Debian package `osslsigncode`); without it the tests fail and say so, they never skip.
 */

export type Ca = ReturnType<typeof makeCa>;

export interface SigningIdentity {
  /** PEM of the leaf, then of any intermediate (what osslsigncode embeds). */
  chainPem: string;
  keyPem: string;
  /** SHA-256 (DER, lower-case hex) of each certificate, leaf first, and of the root. */
  leafSha256: string;
  intermediateSha256?: string;
  /** The intermediate's PEM, when there is one. */
  intermediatePem?: string;
  rootSha256: string;
}

function serial(): string {
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

export function certSha256(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

function issue(
  issuer: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } | 'self',
  subject: forge.pki.CertificateField[],
  ca: boolean,
): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 86400_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer === 'self' ? subject : issuer.cert.subject.attributes);
  cert.setExtensions(
    ca
      ? [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ]
      : [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, critical: true },
          { name: 'extKeyUsage', codeSigning: true },
        ],
  );
  cert.sign(issuer === 'self' ? keys.privateKey : issuer.key, forge.md.sha256.create());
  return { cert, key: keys.privateKey };
}

/**
 * A publisher's certificate issued by `root` (through an intermediate "… Code Signing PCA" when asked). The signature
 * embeds the leaf and the intermediate, and the root only with `embedRoot` (signtool and osslsigncode embed what they
 * are given; a root is usually left out).
 */
export function codeSigningIdentity(root: Ca, publisher: { organization?: string; commonName: string }, opts: { intermediate?: boolean; embedRoot?: boolean } = {}): SigningIdentity {
  const rootSide = { cert: root.forgeCert, key: root.forgeKey };
  const pca = opts.intermediate ? issue(rootSide, [{ name: 'commonName', value: 'Sandgate Test Code Signing PCA' }], true) : undefined;
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: publisher.commonName }];
  if (publisher.organization !== undefined) subject.unshift({ name: 'organizationName', value: publisher.organization });
  const leaf = issue(pca ?? rootSide, subject, false);
  const leafPem = forge.pki.certificateToPem(leaf.cert);
  const pcaPem = pca ? forge.pki.certificateToPem(pca.cert) : '';
  return {
    chainPem: leafPem + pcaPem + (opts.embedRoot ? root.cert : ''),
    keyPem: forge.pki.privateKeyToPem(leaf.key),
    leafSha256: certSha256(leafPem),
    ...(pca ? { intermediateSha256: certSha256(pcaPem), intermediatePem: pcaPem } : {}),
    rootSha256: certSha256(root.cert),
  };
}

/**
 * A certificate for `organization` issued with the key of `issuer`'s signing certificate, which is not a CA: what a
 * publisher with a genuine certificate could make to sign in someone else's name. The chain embeds both.
 */
export function issuedByLeaf(issuer: SigningIdentity, organization: string): SigningIdentity {
  const parentPem = issuer.chainPem.slice(0, issuer.chainPem.indexOf('-----END CERTIFICATE-----') + '-----END CERTIFICATE-----'.length) + '\n';
  const parent = { cert: forge.pki.certificateFromPem(parentPem), key: forge.pki.privateKeyFromPem(issuer.keyPem) as forge.pki.rsa.PrivateKey };
  const leaf = issue(parent, [
    { name: 'organizationName', value: organization },
    { name: 'commonName', value: organization },
  ], false);
  const pem = forge.pki.certificateToPem(leaf.cert);
  return { chainPem: pem + issuer.chainPem, keyPem: forge.pki.privateKeyToPem(leaf.key), leafSha256: certSha256(pem), rootSha256: issuer.rootSha256 };
}

/** A publisher certificate signed by itself: anyone can make one with any name. */
export function selfSignedIdentity(organization: string): SigningIdentity {
  const self = issue('self', [
    { name: 'organizationName', value: organization },
    { name: 'commonName', value: organization },
  ], false);
  const pem = forge.pki.certificateToPem(self.cert);
  const sha = certSha256(pem);
  return { chainPem: pem, keyPem: forge.pki.privateKeyToPem(self.key), leafSha256: sha, rootSha256: sha };
}

/** Fails (never skips) when osslsigncode is missing: CI must install it. */
export function requireOsslsigncode(): void {
  const r = spawnSync('osslsigncode', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit status ${r.status} ${r.stderr}`.trim();
    throw new Error(`osslsigncode is required for the Authenticode tests (Debian/Ubuntu: apt-get install osslsigncode); it could not be run: ${why}`);
  }
}

/** `unsigned` signed by `who` with osslsigncode, digest algorithm `hash`. */
export function signPe(unsigned: Buffer, who: SigningIdentity, hash: 'sha1' | 'sha256' = 'sha256'): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'sandgate-sign-'));
  try {
    writeFileSync(join(dir, 'in.exe'), unsigned);
    writeFileSync(join(dir, 'chain.pem'), who.chainPem);
    writeFileSync(join(dir, 'key.pem'), who.keyPem);
    execFileSync('osslsigncode', ['sign', '-certs', join(dir, 'chain.pem'), '-key', join(dir, 'key.pem'), '-h', hash, '-n', 'Sandgate test', '-in', join(dir, 'in.exe'), '-out', join(dir, 'out.exe')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return readFileSync(join(dir, 'out.exe'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
