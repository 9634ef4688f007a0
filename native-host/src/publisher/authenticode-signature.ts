import { TAG, children, expectTag, fail, oid, readDer, type Der } from './der.ts';

/**
 * The parts of an Authenticode PKCS#7 SignedData that verification needs, each as the exact bytes found (Microsoft,
 * "Windows Authenticode Portable Executable Signature Format"; RFC 2315 for PKCS#7 1.5). Parsing checks structure
 * only; nothing here is trusted until verify-authenticode.ts has checked it.
 */
export interface AuthenticodeSignature {
  /** The algorithm and value of the PE image digest the signer vouched for (SpcIndirectDataContent.messageDigest). */
  imageDigestAlgorithm: DigestName;
  imageDigest: Buffer;
  /** The SpcIndirectDataContent value (without its tag and length): what the messageDigest attribute is the digest of. */
  indirectContent: Buffer;
  /** Every certificate embedded in the signature, DER. */
  certificates: Buffer[];
  signer: {
    /** issuerAndSerialNumber: which embedded certificate signed. */
    issuer: Buffer;
    serial: Buffer;
    digestAlgorithm: DigestName;
    /** The authenticated attributes as the DER SET OF that the signature covers. */
    signedAttributes: Buffer;
    messageDigest: Buffer;
    signature: Buffer;
  };
}

export type DigestName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';
const OID_SPC_PE_IMAGE_DATA = '1.3.6.1.4.1.311.2.1.15';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
/**
 * The unauthenticated attributes a signer may carry: what signtool and osslsigncode put there (a PKCS#9
 * countersignature, an RFC 3161 timestamp, nested signatures). Any other attribute, such as the blobs installers read
 * their configuration from, is data no digest covers and makes the signature unverifiable.
 */
const UNSIGNED_ATTRIBUTES_ALLOWED = new Set(['1.2.840.113549.1.9.6', '1.3.6.1.4.1.311.3.3.1', '1.3.6.1.4.1.311.2.4.1']);
/** Timestamps and a nested SHA-256 signature with their certificates take 10-20 KB; more is room to hide data in. */
export const MAX_UNSIGNED_ATTRIBUTES_BYTES = 64 * 1024;
const DIGESTS: Record<string, DigestName> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export function parseAuthenticode(pkcs7: Buffer): AuthenticodeSignature {
  const outer = readDer(pkcs7);
  const ci = children(expectTag(outer, TAG.SEQUENCE, 'ContentInfo'));
  const [type, explicit] = ci;
  if (oid(type) !== OID_SIGNED_DATA) fail('not a PKCS#7 SignedData');
  const wrapped = children(expectTag(explicit, TAG.CONTEXT_0, 'ContentInfo content'));
  if (ci.length !== 2 || wrapped.length !== 1) fail('unexpected elements around the SignedData');
  const sd = children(expectTag(wrapped[0], TAG.SEQUENCE, 'SignedData'));
  // version, digestAlgorithms, contentInfo, [0] certificates, [1] crls, signerInfos. Only contentInfo, the signer's
  // authenticated attributes and the chain's certificates (each signed by its issuer) are covered by a signature;
  // everything else is constrained so that nothing can be hidden in it (the abuse CVE-2013-3900 is about), except
  // what docs/never-quarantine-publishers.md lists as accepted.
  smallInteger(sd[0], 'SignedData version');
  for (const alg of children(expectTag(sd[1], TAG.SET, 'digestAlgorithms'))) digestName(alg);
  const contentInfo = children(expectTag(sd[2], TAG.SEQUENCE, 'SignedData contentInfo'));
  if (oid(contentInfo[0]) !== OID_SPC_INDIRECT_DATA) fail('the signed content is not SpcIndirectDataContent');
  const indirect = expectTag(
    children(expectTag(contentInfo[1], TAG.CONTEXT_0, 'SpcIndirectDataContent'))[0],
    TAG.SEQUENCE,
    'SpcIndirectDataContent',
  );
  const [data, digestInfo] = children(indirect);
  if (oid(children(expectTag(data, TAG.SEQUENCE, 'SpcAttributeTypeAndOptionalValue'))[0]) !== OID_SPC_PE_IMAGE_DATA)
    fail('the signature is not for a PE image');
  const [imageAlg, imageDigest] = children(expectTag(digestInfo, TAG.SEQUENCE, 'DigestInfo'));

  let i = 3;
  const certificates: Buffer[] = [];
  if (sd[i]?.tag === TAG.CONTEXT_0) {
    // Only plain X.509 certificates: the other CertificateChoices would be carried unexamined.
    for (const c of children(sd[i]!)) certificates.push(expectTag(c, TAG.SEQUENCE, 'embedded certificate').bytes);
    i++;
  }
  // Authenticode signatures carry no CRLs (revocation is not checked here); ones that do could hide anything in them.
  if (sd[i]?.tag === TAG.CONTEXT_1) fail('the signature carries CRLs, which no digest covers');
  const signerInfos = children(expectTag(sd[i], TAG.SET, 'SignerInfos'));
  if (sd.length !== i + 1) fail('unexpected elements after the SignerInfos');
  // Authenticode allows exactly one signer; further signatures are nested in an unauthenticated attribute.
  if (signerInfos.length !== 1) fail('the signature does not have exactly one signer');
  const si = children(expectTag(signerInfos[0], TAG.SEQUENCE, 'SignerInfo'));
  smallInteger(si[0], 'SignerInfo version');
  const signerId = children(expectTag(si[1], TAG.SEQUENCE, 'issuerAndSerialNumber (only that signer identifier is supported)'));
  if (signerId.length !== 2) fail('issuerAndSerialNumber: unexpected structure');
  const [issuer, serial] = signerId;
  const attrs = expectTag(si[3], TAG.CONTEXT_0, 'authenticated attributes');
  signatureAlgorithm(si[4]);
  const signature = expectTag(si[5], TAG.OCTET_STRING, 'encryptedDigest');
  if (si.length > 7 || (si[6] && si[6].tag !== TAG.CONTEXT_1)) fail('unexpected elements in the SignerInfo');
  if (si[6]) checkUnsignedAttributes(si[6]);

  const attributes = children(attrs).map((a) => {
    const [t, values] = children(expectTag(a, TAG.SEQUENCE, 'attribute'));
    return { type: oid(t), values: children(expectTag(values, TAG.SET, 'attribute values')) };
  });
  const single = (type: string, what: string): Der => {
    const found = attributes.filter((a) => a.type === type);
    if (found.length !== 1 || found[0]!.values.length !== 1) fail(`the ${what} attribute is missing or repeated`);
    return found[0]!.values[0]!;
  };
  if (oid(single(OID_CONTENT_TYPE, 'contentType')) !== OID_SPC_INDIRECT_DATA)
    fail('the contentType attribute is not SpcIndirectDataContent');

  return {
    imageDigestAlgorithm: digestName(imageAlg),
    imageDigest: expectTag(imageDigest, TAG.OCTET_STRING, 'image digest').value,
    indirectContent: indirect.value,
    certificates,
    signer: {
      issuer: expectTag(issuer, TAG.SEQUENCE, 'issuer').bytes,
      serial: expectTag(serial, TAG.INTEGER, 'serial number').value,
      digestAlgorithm: digestName(si[2]),
      // What is signed is the attributes as a SET OF, not with the [0] IMPLICIT tag they travel under.
      signedAttributes: Buffer.concat([Buffer.of(TAG.SET), attrs.bytes.subarray(1)]),
      messageDigest: expectTag(single(OID_MESSAGE_DIGEST, 'messageDigest'), TAG.OCTET_STRING, 'messageDigest').value,
      signature: signature.value,
    },
  };
}

function digestName(algorithmIdentifier: Der | undefined): DigestName {
  const [alg, params, ...more] = children(expectTag(algorithmIdentifier, TAG.SEQUENCE, 'AlgorithmIdentifier'));
  const id = oid(alg);
  // Digest algorithms take no parameters (absent or NULL); anything else there is covered by no digest.
  if (more.length || (params && (params.tag !== TAG.NULL || params.value.length))) fail(`unexpected parameters for digest algorithm ${id}`);
  return DIGESTS[id] ?? fail(`unsupported digest algorithm ${id}`);
}

/** The signer's signature algorithm is not signed: bounded, so it cannot carry data (RSA-PSS parameters fit). */
function signatureAlgorithm(el: Der | undefined): void {
  const [alg] = children(expectTag(el, TAG.SEQUENCE, 'digestEncryptionAlgorithm'));
  oid(alg);
  if (el!.bytes.length > 128) fail('digestEncryptionAlgorithm too large');
}

function smallInteger(el: Der | undefined, what: string): void {
  if (expectTag(el, TAG.INTEGER, what).value.length !== 1) fail(`${what} out of range`);
}

function checkUnsignedAttributes(unsigned: Der): void {
  if (unsigned.bytes.length > MAX_UNSIGNED_ATTRIBUTES_BYTES)
    fail(`unauthenticated attributes larger than ${MAX_UNSIGNED_ATTRIBUTES_BYTES} bytes`);
  for (const a of children(unsigned)) {
    const [t, values, ...more] = children(expectTag(a, TAG.SEQUENCE, 'unauthenticated attribute'));
    const type = oid(t);
    if (!UNSIGNED_ATTRIBUTES_ALLOWED.has(type)) fail(`unauthenticated attribute ${type} is not a timestamp or a nested signature`);
    const list = children(expectTag(values, TAG.SET, 'unauthenticated attribute values'));
    if (more.length || !list.length || list.some((v) => v.tag !== TAG.SEQUENCE))
      fail(`unauthenticated attribute ${type}: unexpected structure`);
  }
}

/** Issuer, serial and subject of a certificate (DER), from its TBSCertificate. */
export function certificateIds(cert: Buffer): { issuer: Buffer; serial: Buffer; subject: Der } {
  const tbs = children(expectTag(children(expectTag(readDer(cert), TAG.SEQUENCE, 'Certificate'))[0], TAG.SEQUENCE, 'TBSCertificate'));
  // version [0] is optional (v1 certificates leave it out).
  const f = tbs[0]?.tag === TAG.CONTEXT_0 ? tbs.slice(1) : tbs;
  return {
    serial: expectTag(f[0], TAG.INTEGER, 'serial number').value,
    issuer: expectTag(f[2], TAG.SEQUENCE, 'issuer').bytes,
    subject: expectTag(f[4], TAG.SEQUENCE, 'subject'),
  };
}
