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
const DIGESTS: Record<string, DigestName> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export function parseAuthenticode(pkcs7: Buffer): AuthenticodeSignature {
  const outer = readDer(pkcs7);
  const [type, explicit] = children(expectTag(outer, TAG.SEQUENCE, 'ContentInfo'));
  if (oid(type) !== OID_SIGNED_DATA) fail('not a PKCS#7 SignedData');
  const sd = children(expectTag(children(expectTag(explicit, TAG.CONTEXT_0, 'ContentInfo content'))[0], TAG.SEQUENCE, 'SignedData'));
  // version, digestAlgorithms, contentInfo, [0] certificates, [1] crls, signerInfos
  const contentInfo = children(expectTag(sd[2], TAG.SEQUENCE, 'SignedData contentInfo'));
  if (oid(contentInfo[0]) !== OID_SPC_INDIRECT_DATA) fail('the signed content is not SpcIndirectDataContent');
  const indirect = expectTag(children(expectTag(contentInfo[1], TAG.CONTEXT_0, 'SpcIndirectDataContent'))[0], TAG.SEQUENCE, 'SpcIndirectDataContent');
  const [data, digestInfo] = children(indirect);
  if (oid(children(expectTag(data, TAG.SEQUENCE, 'SpcAttributeTypeAndOptionalValue'))[0]) !== OID_SPC_PE_IMAGE_DATA) fail('the signature is not for a PE image');
  const [imageAlg, imageDigest] = children(expectTag(digestInfo, TAG.SEQUENCE, 'DigestInfo'));

  let i = 3;
  const certificates: Buffer[] = [];
  if (sd[i]?.tag === TAG.CONTEXT_0) {
    for (const c of children(sd[i]!)) if (c.tag === TAG.SEQUENCE) certificates.push(c.bytes);
    i++;
  }
  if (sd[i]?.tag === TAG.CONTEXT_1) i++;
  const signerInfos = children(expectTag(sd[i], TAG.SET, 'SignerInfos'));
  // Authenticode allows exactly one signer; further signatures are nested in an unauthenticated attribute.
  if (signerInfos.length !== 1) fail('the signature does not have exactly one signer');
  const si = children(expectTag(signerInfos[0], TAG.SEQUENCE, 'SignerInfo'));
  const [issuer, serial] = children(expectTag(si[1], TAG.SEQUENCE, 'issuerAndSerialNumber (only that signer identifier is supported)'));
  const attrs = expectTag(si[3], TAG.CONTEXT_0, 'authenticated attributes');
  const signature = expectTag(si[5], TAG.OCTET_STRING, 'encryptedDigest');

  const attributes = children(attrs).map((a) => {
    const [t, values] = children(expectTag(a, TAG.SEQUENCE, 'attribute'));
    return { type: oid(t), values: children(expectTag(values, TAG.SET, 'attribute values')) };
  });
  const single = (type: string, what: string): Der => {
    const found = attributes.filter((a) => a.type === type);
    if (found.length !== 1 || found[0]!.values.length !== 1) fail(`the ${what} attribute is missing or repeated`);
    return found[0]!.values[0]!;
  };
  if (oid(single(OID_CONTENT_TYPE, 'contentType')) !== OID_SPC_INDIRECT_DATA) fail('the contentType attribute is not SpcIndirectDataContent');

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
  const id = oid(children(expectTag(algorithmIdentifier, TAG.SEQUENCE, 'AlgorithmIdentifier'))[0]);
  return DIGESTS[id] ?? fail(`unsupported digest algorithm ${id}`);
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
