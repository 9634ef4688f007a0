import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { children, readDer } from '#native-host/publisher/der.ts';
import { issueCert, makeCa, serial } from './pki.ts';

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

export function certSha256(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

function issue(
  issuer: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } | 'self',
  subject: forge.pki.CertificateField[],
  ca: boolean,
  purpose: 'codeSigning' | 'timeStamping' = 'codeSigning',
): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  return issueCert({
    subject,
    issuer,
    extensions: ca
      ? [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ]
      : [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, critical: true },
          purpose === 'codeSigning'
            ? { name: 'extKeyUsage', codeSigning: true }
            : { name: 'extKeyUsage', timeStamping: true, critical: true },
        ],
  });
}

/**
 * A publisher's certificate issued by `root` (through an intermediate "… Code Signing PCA" when asked). The signature
 * embeds the leaf and the intermediate, and the root only with `embedRoot` (signtool and osslsigncode embed what they
 * are given; a root is usually left out).
 */
export function codeSigningIdentity(
  root: Ca,
  publisher: { organization?: string; commonName: string },
  opts: { intermediate?: boolean; embedRoot?: boolean } = {},
): SigningIdentity {
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
  const parentPem =
    issuer.chainPem.slice(0, issuer.chainPem.indexOf('-----END CERTIFICATE-----') + '-----END CERTIFICATE-----'.length) + '\n';
  const parent = {
    cert: forge.pki.certificateFromPem(parentPem),
    key: forge.pki.privateKeyFromPem(issuer.keyPem) as forge.pki.rsa.PrivateKey,
  };
  const leaf = issue(
    parent,
    [
      { name: 'organizationName', value: organization },
      { name: 'commonName', value: organization },
    ],
    false,
  );
  const pem = forge.pki.certificateToPem(leaf.cert);
  return {
    chainPem: pem + issuer.chainPem,
    keyPem: forge.pki.privateKeyToPem(leaf.key),
    leafSha256: certSha256(pem),
    rootSha256: issuer.rootSha256,
  };
}

/** A publisher certificate signed by itself: anyone can make one with any name. */
export function selfSignedIdentity(organization: string): SigningIdentity {
  const self = issue(
    'self',
    [
      { name: 'organizationName', value: organization },
      { name: 'commonName', value: organization },
    ],
    false,
  );
  const pem = forge.pki.certificateToPem(self.cert);
  const sha = certSha256(pem);
  return { chainPem: pem, keyPem: forge.pki.privateKeyToPem(self.key), leafSha256: sha, rootSha256: sha };
}

/** Fails (never skips) when osslsigncode is missing: CI must install it. */
export function requireOsslsigncode(): void {
  const r = spawnSync('osslsigncode', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit status ${r.status} ${r.stderr}`.trim();
    throw new Error(
      `osslsigncode is required for the Authenticode tests (Debian/Ubuntu: apt-get install osslsigncode); it could not be run: ${why}`,
    );
  }
}

/** `unsigned` signed by `who` with osslsigncode, digest algorithm `hash`. */
export function signPe(unsigned: Buffer, who: SigningIdentity, hash: 'sha1' | 'sha256' = 'sha256'): Buffer {
  return withOsslsigncode(unsigned, who, ['sign', '-h', hash, '-n', 'Sandgate test']);
}

/** `signed` (already signed) with a second, nested signature by `who` (osslsigncode sign -nest). */
export function nestSignature(signed: Buffer, who: SigningIdentity, hash: 'sha1' | 'sha256' = 'sha256'): Buffer {
  return withOsslsigncode(signed, who, ['sign', '-nest', '-h', hash]);
}

/** A time-stamping authority issued by `root`, for `timestamp`. */
export function timestampingIdentity(root: Ca): SigningIdentity {
  const tsa = issue(
    { cert: root.forgeCert, key: root.forgeKey },
    [{ name: 'commonName', value: 'Sandgate Test TSA' }],
    false,
    'timeStamping',
  );
  const pem = forge.pki.certificateToPem(tsa.cert);
  return {
    chainPem: pem + root.cert,
    keyPem: forge.pki.privateKeyToPem(tsa.key),
    leafSha256: certSha256(pem),
    rootSha256: certSha256(root.cert),
  };
}

/** `signed` with an RFC 3161 timestamp from osslsigncode's built-in TSA acting as `tsa` (no network). */
export function timestamp(signed: Buffer, tsa: SigningIdentity): Buffer {
  return withOsslsigncode(
    signed,
    undefined,
    ['add', '-TSA-certs', '{chain}', '-TSA-key', '{key}', '-TSA-time', String(Math.floor(Date.now() / 1000))],
    tsa,
  );
}

/** `signed` with osslsigncode's unauthenticated blob added (what installers that read data from their signature use). */
export function addUnauthenticatedBlob(signed: Buffer): Buffer {
  return withOsslsigncode(signed, undefined, ['add', '-addUnauthenticatedBlob']);
}

/** Runs `osslsigncode ARGS [-certs -key] -in -out` on `input`; `{chain}` and `{key}` in ARGS name the files of `keys`. */
function withOsslsigncode(
  input: Buffer,
  signer: SigningIdentity | undefined,
  args: string[],
  keys: SigningIdentity | undefined = signer,
): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'sandgate-sign-'));
  try {
    writeFileSync(join(dir, 'in.exe'), input);
    if (keys) {
      writeFileSync(join(dir, 'chain.pem'), keys.chainPem);
      writeFileSync(join(dir, 'key.pem'), keys.keyPem);
    }
    const files = args.map((a) => (a === '{chain}' ? join(dir, 'chain.pem') : a === '{key}' ? join(dir, 'key.pem') : a));
    const signing = signer ? ['-certs', join(dir, 'chain.pem'), '-key', join(dir, 'key.pem')] : [];
    execFileSync('osslsigncode', [...files, ...signing, '-in', join(dir, 'in.exe'), '-out', join(dir, 'out.exe')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return readFileSync(join(dir, 'out.exe'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A DER element: `tag`, a definite length, then `contents`. */
export function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  const len =
    n < 0x80
      ? Buffer.of(n)
      : n < 0x100
        ? Buffer.of(0x81, n)
        : n < 0x10000
          ? Buffer.of(0x82, n >> 8, n & 0xff)
          : Buffer.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  return Buffer.concat([Buffer.of(tag), len, body]);
}

export function derOid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const arcs = [a! * 40 + b!, ...rest].map((arc) => {
    const out = [arc & 0x7f];
    for (arc = Math.floor(arc / 128); arc; arc = Math.floor(arc / 128)) out.unshift((arc & 0x7f) | 0x80);
    return Buffer.from(out);
  });
  return der(0x06, ...arcs);
}

/** A PKCS#9 attribute: type, then a SET OF values (each DER). */
export function derAttribute(type: string, ...values: Buffer[]): Buffer {
  return der(0x30, derOid(type), der(0x31, ...values));
}

/**
 * A signed PE file whose PKCS#7 SignedData is rebuilt with what no digest covers changed: a `crls` field inserted
 * before the SignerInfos, unauthenticated attributes appended to the signer's. Everything signed keeps its exact bytes,
 * and the certificate table is re-aligned and its sizes rewritten, so the result differs from a genuine signature only
 * by the edit.
 */
export function rewriteSignedData(signed: Buffer, edit: { crls?: Buffer; unsignedAttributes?: Buffer[] }): Buffer {
  const pe = signed.readUInt32LE(0x3c);
  const opt = pe + 24;
  const entry = (signed.readUInt16LE(opt) === 0x20b ? opt + 112 : opt + 96) + 4 * 8;
  const tableAt = signed.readUInt32LE(entry);
  const pkcs7 = readDer(signed, tableAt + 8);
  const [type, explicit] = children(pkcs7);
  const sd = children(children(explicit!)[0]!);
  const [si, ...more] = children(sd[sd.length - 1]!);
  if (!si || more.length) throw new Error('rewriteSignedData: expected one SignerInfo');
  const fields = children(si);
  const unsigned = [...(fields[6] ? children(fields[6]).map((a) => a.bytes) : []), ...(edit.unsignedAttributes ?? [])];
  const newSi = der(0x30, ...fields.slice(0, 6).map((f) => f.bytes), ...(unsigned.length ? [der(0xa1, ...unsigned)] : []));
  const newSd = der(0x30, ...sd.slice(0, -1).map((f) => f.bytes), ...(edit.crls ? [edit.crls] : []), der(0x31, newSi));
  const body = der(0x30, type!.bytes, der(0xa0, newSd));
  const winCert = Buffer.alloc(8 + Math.ceil(body.length / 8) * 8);
  winCert.writeUInt32LE(winCert.length, 0);
  winCert.writeUInt16LE(0x0200, 4);
  winCert.writeUInt16LE(0x0002, 6);
  body.copy(winCert, 8);
  const out = Buffer.concat([signed.subarray(0, tableAt), winCert]);
  out.writeUInt32LE(winCert.length, entry + 4);
  return out;
}

/**
 * A CA certificate issued by `root` for an RSA public key nobody holds the private half of (a random `bits`-bit odd
 * modulus, exponent `e`): only what checking a signature with it would cost matters.
 */
export function certificateWithRsaKey(root: Ca, bits: number, e: bigint): string {
  const bytes = Buffer.from(forge.random.getBytesSync(bits / 8), 'binary');
  bytes[0] = bytes[0]! | 0x80;
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! | 1;
  const BigInteger = forge.jsbn.BigInteger;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(new BigInteger(bytes.toString('hex'), 16), new BigInteger(e.toString(16), 16));
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 86400_000);
  cert.setSubject([{ name: 'commonName', value: `Costly Key CA ${bits}` }]);
  cert.setIssuer(root.forgeCert.subject.attributes);
  cert.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }]);
  cert.sign(root.forgeKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
