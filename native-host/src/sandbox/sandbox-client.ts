import type { Verdict } from '@sandgate/shared';

/** An object waiting in the queue, as a sandbox client needs it. */
export interface QueuedObject {
  sha256: string;
  size: number;
  /** The queued copy; uploads stream from here, never from the original. */
  path: string;
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
