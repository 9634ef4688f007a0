import { constants, createHash, generateKeyPairSync, privateEncrypt, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { der, derOid } from './code-signing.ts';

/**
 * An Authenticode signature built in-process with node-forge (test helper: samples for YARA rules over
 * `pe.signatures`), no osslsigncode: a certificate with exactly the subject, issuer, serial and validity asked for,
 * and a PKCS#7 SignedData over an SpcIndirectDataContent holding the PE's real Authenticode SHA-256, put in a
 * WIN_CERTIFICATE at the end of the file and named by the security data directory. The signature is genuine (the
 * signer info's RSA signature checks against the certificate and the digest matches the file), so YARA-X reports it
 * `verified`; YARA-X reports `pe.signatures` for any well-formed SignedData, verified or not.
 *
 * One RSA key serves every certificate and signature of a run (made with node:crypto; the RSA operations go through
 * node:crypto too, because forge's own take ~70 ms each and a sample needs two).
 */

export interface SignatureFields {
  /** The certificate's subject commonName, as YARA-X prints it after `/CN=` (one UTF8String attribute). */
  subjectCommonName: string;
  /** The issuer's commonName; default "Sandgate Test Code Signing CA". */
  issuerCommonName?: string;
  /** The serial's bytes as YARA-X prints them: lower-case hex pairs joined by `:` (kept as written, even negative). */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

const SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';
const SPC_PE_IMAGE_DATA = '1.3.6.1.4.1.311.2.1.15';
const SHA256 = '2.16.840.1.101.3.4.2.1';

let keys: { nodeKey: KeyObject; forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } | undefined;

function signingKey(): NonNullable<typeof keys> {
  if (!keys) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    // RSASSA-PKCS1-v1_5 over forge's digest: the DigestInfo padded with type 1 and raised to d (node:crypto).
    forgeKey.sign = (md: forge.md.MessageDigest) => {
      const digestInfo = der(
        0x30,
        der(0x30, derOid(oidOf(md.algorithm)), Buffer.of(0x05, 0x00)),
        der(0x04, Buffer.from(md.digest().getBytes(), 'binary')),
      );
      return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    };
    keys = { nodeKey: privateKey, forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
  }
  return keys;
}

function oidOf(algorithm: string): string {
  if (algorithm !== 'sha256') throw new Error(`authenticode-forge: digest ${algorithm} not used here`);
  return SHA256;
}

/** The serial as forge wants it (hex of the raw DER INTEGER contents), refusing what YARA-X could never print. */
export function serialBytes(serial: string): string | undefined {
  return /^[0-9a-f]{2}(:[0-9a-f]{2})*$/.test(serial) ? serial.replaceAll(':', '') : undefined;
}

/** A commonName as a UTF8String (forge's default, PrintableString, cannot hold `"`, `*`, `\\` or non-ASCII). */
function commonName(value: string): forge.pki.CertificateField {
  // @types/node-forge types valueTagClass as an asn1.Class; forge reads it as the asn1.Type of the value.
  const valueTagClass: number = forge.asn1.Type.UTF8;
  return { name: 'commonName', value, valueTagClass };
}

function certificate(f: SignatureFields): forge.pki.Certificate {
  const k = signingKey();
  const hex = serialBytes(f.serial);
  if (hex === undefined) throw new Error(`authenticode-forge: serial ${f.serial} is not as YARA-X prints one`);
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.publicKey;
  cert.serialNumber = hex;
  cert.validity.notBefore = f.notBefore;
  cert.validity.notAfter = f.notAfter;
  cert.setSubject([commonName(f.subjectCommonName)]);
  cert.setIssuer([commonName(f.issuerCommonName ?? 'Sandgate Test Code Signing CA')]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', codeSigning: true },
  ]);
  cert.sign(k.forgeKey, forge.md.sha256.create());
  return cert;
}

/** Offset of the security (certificate table) entry in the data directories of a PE32 or PE32+ file. */
function securityEntry(pe: Buffer): { entry: number; checksum: number } {
  const opt = pe.readUInt32LE(0x3c) + 24;
  const plus = pe.readUInt16LE(opt) === 0x20b;
  return { entry: opt + (plus ? 112 : 96) + 4 * 8, checksum: opt + 64 };
}

/** The Authenticode SHA-256 of an unsigned PE whose sections run to the end of the file. */
export function authenticodeSha256(pe: Buffer): Buffer {
  const { entry, checksum } = securityEntry(pe);
  return createHash('sha256')
    .update(pe.subarray(0, checksum))
    .update(pe.subarray(checksum + 4, entry))
    .update(pe.subarray(entry + 8))
    .digest();
}

/** `unsigned` (no certificate table yet, length a multiple of 8) with an Authenticode signature carrying `fields`. */
export function signWithForge(unsigned: Buffer, fields: SignatureFields): Buffer {
  if (unsigned.length % 8) throw new Error('authenticode-forge: the PE must end on an 8-byte boundary');
  const cert = certificate(fields);
  const spcIndirectData = der(
    0x30,
    der(
      0x30,
      derOid(SPC_PE_IMAGE_DATA),
      // SpcPeImageData: flags (empty BIT STRING), file [0] SpcLink [2] SpcString [0] BMPString "<<<Obsolete>>>".
      der(
        0x30,
        Buffer.of(0x03, 0x01, 0x00),
        der(0xa0, der(0xa2, der(0x80, Buffer.from('\0<\0<\0<\0O\0b\0s\0o\0l\0e\0t\0e\0>\0>\0>', 'latin1')))),
      ),
    ),
    der(0x30, der(0x30, derOid(SHA256), Buffer.of(0x05, 0x00)), der(0x04, authenticodeSha256(unsigned))),
  );
  const asn1 = forge.asn1;
  const p7 = forge.pkcs7.createSignedData();
  const contentInfo = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(SPC_INDIRECT_DATA).getBytes()),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.fromDer(spcIndirectData.toString('binary'))]),
  ]);
  Object.assign(p7, { contentInfo }); // sign() digests its content (the SpcIndirectDataContent) as Authenticode wants
  p7.content = forge.util.createBuffer(); // an object, so sign() keeps the content info above
  p7.addCertificate(cert);
  p7.addSigner({
    key: signingKey().forgeKey,
    certificate: cert,
    digestAlgorithm: forge.pki.oids.sha256!,
    authenticatedAttributes: [{ type: forge.pki.oids.contentType!, value: SPC_INDIRECT_DATA }, { type: forge.pki.oids.messageDigest! }],
  });
  p7.sign();
  const body = Buffer.from(asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
  const winCert = Buffer.alloc(8 + Math.ceil(body.length / 8) * 8);
  winCert.writeUInt32LE(winCert.length, 0);
  winCert.writeUInt16LE(0x0200, 4); // WIN_CERT_REVISION_2_0
  winCert.writeUInt16LE(0x0002, 6); // WIN_CERT_TYPE_PKCS_SIGNED_DATA
  body.copy(winCert, 8);
  const out = Buffer.concat([unsigned, winCert]);
  const { entry } = securityEntry(out);
  out.writeUInt32LE(unsigned.length, entry);
  out.writeUInt32LE(winCert.length, entry + 4);
  return out;
}
