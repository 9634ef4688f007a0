import { SandgateError, type ErrorCode } from '@sandgate/shared';

/** OpenSSL and Node codes meaning "the certificate presented is not one we trust for this name". */
const CERTIFICATE_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNABORTED']);

/** Which registry code a failed request to a server gets. Pure, so the table is tested without sockets. */
export function networkErrorCode(err: unknown): ErrorCode {
  if (err instanceof SandgateError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'SERVER_UNREACHABLE';
  if (CERTIFICATE_CODES.has(code)) return 'TLS_CERTIFICATE_REJECTED';
  if (UNREACHABLE_CODES.has(code)) return 'SERVER_UNREACHABLE';
  // Wrong version number, unsupported protocol, handshake alerts: the peer is not speaking TLS 1.2+ with us.
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO' || code.startsWith('ERR_TLS_')) return 'TLS_HANDSHAKE_FAILED';
  return 'SERVER_UNREACHABLE';
}

export function toServerError(err: unknown, server: string): SandgateError {
  if (err instanceof SandgateError) return err;
  const code = networkErrorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new SandgateError(code, `${server}: ${detail}`, { params: { server, cause: (err as { code?: string }).code }, cause: err });
}
