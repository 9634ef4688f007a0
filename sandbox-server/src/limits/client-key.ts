import { isIPv6 } from 'node:net';

/**
 * The key connections are counted under: an IPv4 address (also when it arrives IPv4-mapped), or an IPv6 /64. One host
 * is routinely given a whole /64 and picks addresses from it at will, so counting single IPv6 addresses would let it
 * open any number of connections.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped) return mapped[1]!;
  if (!isIPv6(bare)) return bare;
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address, `::` expanded; a trailing dotted IPv4 part counts as two. */
function expandIPv6(address: string): string[] {
  const toGroups = (part: string): string[] => {
    if (!part) return [];
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [g.toLowerCase().replace(/^0+(?=.)/, '')];
      const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  };
  const [head, tail] = address.includes('::') ? (address.split('::') as [string, string]) : [address, undefined];
  const left = toGroups(head);
  const right = tail === undefined ? [] : toGroups(tail);
  return [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
}
