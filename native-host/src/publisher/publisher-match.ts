import { readFileSignature, type SignatureLimits } from './authenticode-file.ts';
import { chainReachesPin } from './certificate-chain.ts';
import { samePublisher } from './publisher-name.ts';

/** One `neverQuarantine.publishers` entry: the publisher's name and the certificates that vouch for it. */
export interface PublisherRule {
  name: string;
  /** SHA-256 (DER, hex) of certificates one of which the signer's chain must reach. */
  caSha256: readonly string[];
}

export type PublisherDecision = { exempt: true; publisher: string } | { exempt: false; reason: string };

/**
 * Whether the file at `file.path` is signed by a publisher on the list: an Authenticode signature over exactly these
 * bytes whose signing certificate names the publisher and chains to one of that entry's pinned certificates. When
 * `file.sha256` is given the file must still be those bytes (a file swapped after it matched earns nothing). Anything
 * else, including every error, is "not exempt" with a reason; it never throws.
 */
export async function publisherExemption(
  file: { path: string; sha256?: string | undefined },
  rules: readonly PublisherRule[],
  limits?: SignatureLimits,
): Promise<PublisherDecision> {
  if (!rules.length) return { exempt: false, reason: 'no publishers are listed' };
  try {
    const sig = await readFileSignature(file.path, limits);
    if (sig.kind !== 'verified') return { exempt: false, reason: sig.reason };
    if (file.sha256 && sig.sha256 !== file.sha256.toLowerCase()) return { exempt: false, reason: 'the file changed since it matched' };
    const named = rules.filter((r) => samePublisher(r.name, sig.signer.publisher));
    if (!named.length) return { exempt: false, reason: `signed by ${JSON.stringify(sig.signer.publisher)}, a publisher not on the list` };
    for (const r of named) {
      if (chainReachesPin(sig.signer.signer, sig.signer.embedded, new Set(r.caSha256.map((h) => h.toLowerCase()))))
        return { exempt: true, publisher: r.name };
    }
    return { exempt: false, reason: `signed in the name of ${JSON.stringify(sig.signer.publisher)}, but not through a pinned certificate` };
  } catch (err) {
    return { exempt: false, reason: `the signature could not be checked: ${err instanceof Error ? err.message : String(err)}` };
  }
}
