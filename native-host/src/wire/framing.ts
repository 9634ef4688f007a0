import { SandgateError } from '@sandgate/shared';

/**
 * Native-messaging framing: a UInt32LE byte length, then that many bytes of UTF-8 JSON. The same framing carries IPC
 * between the bridge, the CLI and the agent service, so one tested decoder serves every boundary.
 */

const HEADER_BYTES = 4;

export function encodeFrame(message: unknown, maxBytes: number): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > maxBytes) {
    throw new SandgateError('FRAME_TOO_LARGE', `message of ${body.length} bytes exceeds the ${maxBytes}-byte limit`, {
      params: { size: body.length, limit: maxBytes },
    });
  }
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(body.length, 0);
  return Buffer.concat([header, body]);
}

export type FrameResult = { ok: true; value: unknown } | { ok: false; error: SandgateError };

/**
 * Incremental decoder. It never allocates or waits for a claimed length above `maxBytes`: an oversized header is
 * reported at once and the decoder stops (the stream cannot be resynchronised after it).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private dead = false;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Feeds bytes; returns every complete frame, parsed or with its error. */
  push(chunk: Buffer): FrameResult[] {
    if (this.dead) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: FrameResult[] = [];
    for (;;) {
      if (this.buffered < HEADER_BYTES) break;
      const head = this.peek(HEADER_BYTES);
      const length = head.readUInt32LE(0);
      if (length > this.maxBytes) {
        this.dead = true;
        this.chunks = [];
        this.buffered = 0;
        out.push({
          ok: false,
          error: new SandgateError('FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the ${this.maxBytes}-byte limit`, {
            params: { size: length, limit: this.maxBytes },
          }),
        });
        break;
      }
      if (this.buffered < HEADER_BYTES + length) break;
      const frame = this.take(HEADER_BYTES + length).subarray(HEADER_BYTES);
      out.push(parseBody(frame));
    }
    return out;
  }

  /** Bytes of an unfinished frame at end of stream (a truncated message). */
  get pendingBytes(): number {
    return this.buffered;
  }

  get stopped(): boolean {
    return this.dead;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}

function parseBody(body: Buffer): FrameResult {
  // fatal: true rejects invalid UTF-8 instead of silently substituting U+FFFD
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { ok: false, error: new SandgateError('FRAME_MALFORMED', 'frame is not valid UTF-8') };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: new SandgateError('FRAME_MALFORMED', 'frame is not valid JSON') };
  }
}
