/**
 * What one lab lets its clients hold at once, and how slow they may be. Every limit refuses with a coded answer the
 * agent treats as "this server, not now" (SERVER_BUSY: it tries the next server), never by hanging.
 */
export interface LabLimits {
  /**
   * Connections open at once, in total. Past it a new connection is answered 503 `TOO_MANY_CONNECTIONS` on its first
   * request and closed; past twice it, it is closed at once, before TLS.
   */
  maxConnections: number;
  /** The same, per client address (an IPv6 client per /64: one host holds a whole /64). */
  maxConnectionsPerClient: number;
  /** Uploads being received at once; one more is answered 503 `TOO_MANY_UPLOADS` before any byte of it is read. */
  maxUploads: number;
  /** An upload that brings fewer bytes than this per second, over any one window, is cut: 408 `UPLOAD_TOO_SLOW`. */
  minUploadBytesPerSec: number;
  /** The window the upload rate is measured over, in milliseconds. */
  uploadWindowMs: number;
  /** Time a client has to complete TLS and send a request's headers, in milliseconds. */
  headersTimeoutMs: number;
  /**
   * Free disk space an upload must leave: one whose Content-Length would eat into it is refused before it is read
   * (507 `INSUFFICIENT_STORAGE`), and one that no longer has room for its rest plus half of it is stopped and deleted.
   */
  diskReserveBytes: number;
}

export const DEFAULT_LAB_LIMITS: LabLimits = {
  maxConnections: 512,
  maxConnectionsPerClient: 32,
  maxUploads: 16,
  minUploadBytesPerSec: 4096,
  uploadWindowMs: 20_000,
  headersTimeoutMs: 10_000,
  diskReserveBytes: 512 * 1024 * 1024,
};
