import { TAG, children, directoryString, expectTag, fail, oid, type Der } from './der.ts';

const OID_ORGANIZATION = '2.5.4.10';
const OID_COMMON_NAME = '2.5.4.3';

/**
 * The publisher a certificate names: its subject O (organization), or its CN when it has no O, which is what Windows
 * shows as the publisher. A subject with two O (or, without O, two CN) names no single publisher and is refused.
 */
export function publisherName(subject: Der): string {
  const o: string[] = [];
  const cn: string[] = [];
  for (const rdn of children(expectTag(subject, TAG.SEQUENCE, 'Name'))) {
    for (const atv of children(expectTag(rdn, TAG.SET, 'RelativeDistinguishedName'))) {
      const [type, value] = children(expectTag(atv, TAG.SEQUENCE, 'AttributeTypeAndValue'));
      const id = oid(type);
      if (id === OID_ORGANIZATION) o.push(directoryString(value ?? fail('empty name attribute')));
      else if (id === OID_COMMON_NAME) cn.push(directoryString(value ?? fail('empty name attribute')));
    }
  }
  const names = o.length ? o : cn;
  if (names.length !== 1)
    fail(
      names.length ? 'the signing certificate names more than one publisher' : 'the signing certificate names no publisher (no O, no CN)',
    );
  return names[0]!;
}

/** Case-insensitive, otherwise exact (no trimming, no prefix match): `Contoso` is not `Contoso Ltd`. */
export function samePublisher(a: string, b: string): boolean {
  return a.normalize('NFC').toLowerCase() === b.normalize('NFC').toLowerCase();
}
