import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity as nodeCheckServerIdentity, type PeerCertificate } from 'node:tls';

/**
 * Whether the certificate a sandbox server presented names the host of its URL; `undefined` when it does, an error
 * with Node's code `ERR_TLS_CERT_ALTNAME_INVALID` (reported as TLS_HOSTNAME_MISMATCH) when it does not.
 *
 * Two departures from `tls.checkServerIdentity`, both on purpose:
 * - An IP address is matched by OpenSSL against the certificate's IP-address subjectAltNames, as binary addresses, so
 *   `::1`, `0::1` and the `0:0:0:0:0:0:0:1` OpenSSL prints are one address. Node 22.23 cannot match an IPv6 address at
 *   all: since the CVE-2026-48618 fix it runs the host through `domainToASCII`, which turns `::1` into '' and skips the
 *   IP branch (nodejs/node#64144, fixed upstream by #64145), so every IPv6 server failed TLS_HOSTNAME_MISMATCH.
 * - A DNS name must be a DNS subjectAltName. Node falls back to the common name when there is none, so a certificate
 *   for an IP address whose CN happens to read `localhost` would pass for `https://localhost`. Browsers dropped that
 *   fallback in 2017 and RFC 9525 removed it from the standard; so do we. An IP address is never matched against the
 *   common name either.
 */
export function checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  // Node hands over the host as given to https.request; strip brackets in case an IPv6 literal keeps them.
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) return checkAddress(bare, cert);
  if (!/(?:^|,\s*)DNS:/.test(cert.subjectaltname ?? '')) {
    return mismatch(
      `Host: ${host}. is not in the cert's altnames: ${cert.subjectaltname ?? '(none)'} (the common name is not used)`,
      host,
      cert,
    );
  }
  return nodeCheckServerIdentity(host, cert);
}

function checkAddress(ip: string, cert: PeerCertificate): Error | undefined {
  let named: string | undefined;
  try {
    // `raw` is the DER the server sent; OpenSSL compares the address bytes with each IP-address SAN, never the CN.
    named = new X509Certificate(cert.raw).checkIP(ip);
  } catch {
    named = undefined;
  }
  if (named !== undefined) return undefined;
  const listed = (cert.subjectaltname ?? '').split(', ').filter((n) => n.startsWith('IP Address:'));
  return mismatch(`IP: ${ip} is not in the cert's list: ${listed.join(', ') || '(no IP addresses)'}`, ip, cert);
}

function mismatch(reason: string, host: string, cert: PeerCertificate): Error {
  return Object.assign(new Error(`Hostname/IP does not match certificate's altnames: ${reason}`), {
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    reason,
    host,
    cert,
  });
}
