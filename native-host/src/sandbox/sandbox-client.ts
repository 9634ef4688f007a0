import type { Readable } from 'node:stream';
import type { Verdict } from '@sandgate/shared';

/**
 * The bytes of a queued object, as the queue hands them out (queue/object-queue.ts, ObjectBody): the size that was
 * hashed and a fresh stream of exactly those bytes each call. Uploads read from here, never from the original.
 */
export interface UploadBody {
  readonly size: number;
  open(): Readable;
}

/** An object waiting in the queue, as a sandbox client needs it. */
export interface QueuedObject {
  sha256: string;
  body: UploadBody;
  /** Advisory name sent with the upload. */
  filename?: string;
}

/** One sandbox server. `analyse` returns a verdict or throws a SandgateError naming what went wrong. */
export interface SandboxClient {
  /** The server's URL as the policy spells it; the only way a server is named in events and status. */
  readonly url: string;
  readonly kind: string;
  analyse(obj: QueuedObject, signal: AbortSignal): Promise<Verdict>;
  /**
   * One cheap request proving the server is up, speaks its protocol over our pinned TLS and accepts our credentials.
   * Resolves when healthy; throws the same SandgateErrors as `analyse` otherwise. Uploads nothing.
   */
  probe(signal: AbortSignal): Promise<void>;
  close(): void;
}
