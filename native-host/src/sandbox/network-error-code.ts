import { SandgateError, type ErrorCode } from '@sandgate/shared';

/** OpenSSL codes for a certificate outside its validity window: the one case an administrator fixes by renewing. */
const EXPIRED_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** The certificate is trusted but names neither the host nor the IP address in the server's URL. */
const HOSTNAME_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH', 'IP_ADDRESS_MISMATCH']);

/** OpenSSL and Node codes meaning "the certificate presented is not one we trust". */
const CERTIFICATE_CODES = new Set([
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_PURPOSE_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
]);

/** TLS alerts a server sends when it wants a client certificate we did not give, or refuses the one we gave. */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
]);

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNABORTED',
]);

/** Which registry code a failed request to a server gets. Pure, so the table is tested without sockets. */
export function networkErrorCode(err: unknown): ErrorCode {
  if (err instanceof SandgateError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'SERVER_UNREACHABLE';
  if (EXPIRED_CODES.has(code)) return 'TLS_CERTIFICATE_EXPIRED';
  if (HOSTNAME_CODES.has(code)) return 'TLS_HOSTNAME_MISMATCH';
  if (CERTIFICATE_CODES.has(code)) return 'TLS_CERTIFICATE_REJECTED';
  if (UNREACHABLE_CODES.has(code)) return 'SERVER_UNREACHABLE';
  // Wrong version number, unsupported protocol, handshake alerts: the peer is not speaking TLS 1.2+ with us.
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO' || code.startsWith('ERR_TLS_')) return 'TLS_HANDSHAKE_FAILED';
  return 'SERVER_UNREACHABLE';
}

/** The code for an HTTP answer that is not the one a client expected (`status` outside 2xx, or an unexpected 2xx). */
export function httpStatusCode(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'SERVER_AUTH_FAILED';
  if (status === 429) return 'SERVER_THROTTLED';
  return 'SERVER_ERROR';
}

export function toServerError(err: unknown, server: string): SandgateError {
  if (err instanceof SandgateError) return err;
  const code = networkErrorCode(err);
  const raw = (err as { code?: unknown } | null)?.code;
  let detail = err instanceof Error ? err.message : String(err);
  // OpenSSL's text ("tlsv13 alert certificate required") does not tell an administrator what to change.
  if (typeof raw === 'string' && CLIENT_CERT_REFUSED.has(raw)) {
    detail = `the server refused the TLS connection: it requires a client certificate it trusts (sandbox.clientCertificate) [${raw}]`;
  }
  return new SandgateError(code, `${server}: ${detail}`, {
    params: { server, ...(typeof raw === 'string' ? { cause: raw } : {}) },
    cause: err,
  });
}
