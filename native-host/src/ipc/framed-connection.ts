import type { Socket } from 'node:net';
import { MAX_IPC_MESSAGE_BYTES, SandgateError } from '@sandgate/shared';
import { FrameDecoder, encodeFrame } from '../wire/framing.ts';

/**
 * One IPC connection (bridge ↔ agent, CLI ↔ agent) speaking the native-messaging framing over a local socket.
 * Messages are handed over as parsed JSON (`unknown`): every receiver validates them with the shared schemas.
 */
export class FramedConnection {
  readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly maxBytes: number;
  private messageListeners: Array<(msg: unknown) => void> = [];
  private badFrameListeners: Array<(err: SandgateError) => void> = [];
  private closeListeners: Array<() => void> = [];
  // Frames that arrive before anyone listens are kept, so a caller may attach listeners after an await.
  private early: unknown[] = [];
  private closedFlag = false;

  constructor(socket: Socket, opts: { maxBytes?: number } = {}) {
    this.socket = socket;
    this.maxBytes = opts.maxBytes ?? MAX_IPC_MESSAGE_BYTES;
    this.decoder = new FrameDecoder(this.maxBytes);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // Errors (EPIPE, ECONNRESET) always end in 'close'; that is the one signal callers need.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closedFlag = true;
      const listeners = this.closeListeners;
      this.closeListeners = [];
      for (const cb of listeners) cb();
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Sends one message. Throws FRAME_TOO_LARGE (nothing is written) when it exceeds the cap, so the caller can answer
   * with a smaller error instead. Returns false when the connection is already gone.
   */
  send(msg: unknown): boolean {
    const frame = encodeFrame(msg, this.maxBytes);
    if (this.closedFlag || this.socket.destroyed || !this.socket.writable) return false;
    this.socket.write(frame);
    return true;
  }

  onMessage(cb: (msg: unknown) => void): void {
    this.messageListeners.push(cb);
    if (this.early.length) {
      const queued = this.early;
      this.early = [];
      for (const m of queued) cb(m);
    }
  }

  /** Frames that were not UTF-8 JSON (FRAME_MALFORMED) or too large (FRAME_TOO_LARGE, after which the socket is closed). */
  onBadFrame(cb: (err: SandgateError) => void): void {
    this.badFrameListeners.push(cb);
  }

  onClose(cb: () => void): void {
    if (this.closedFlag) queueMicrotask(cb);
    else this.closeListeners.push(cb);
  }

  /** Ends the connection after pending writes are flushed. */
  close(): void {
    if (this.closedFlag) return;
    this.socket.end();
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    for (const r of this.decoder.push(chunk)) {
      if (r.ok) {
        if (this.messageListeners.length === 0) this.early.push(r.value);
        else for (const cb of this.messageListeners) cb(r.value);
      } else {
        for (const cb of this.badFrameListeners) cb(r.error);
      }
    }
    // After an oversized header the stream cannot be resynchronised: the only safe move is to hang up.
    // Ending (not destroying) lets an error frame written by a bad-frame listener reach the peer first.
    if (this.decoder.stopped && !this.socket.writableEnded) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
  }
}
