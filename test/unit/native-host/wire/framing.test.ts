import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrame } from '#native-host/wire/framing.ts';

const frame = (msg: unknown) => encodeFrame(msg, 1 << 20);
const values = (d: FrameDecoder, chunk: Buffer) => d.push(chunk).map((r) => (r.ok ? r.value : { error: r.error.code }));

describe('framing', () => {
  it('a frame split at every byte boundary decodes to the same message', () => {
    const msg = { v: 1, kind: 'request', id: 'x', type: 'hello', text: 'héllo ☃ 🦊' };
    const bytes = frame(msg);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder(1 << 20);
      const out = [...values(d, bytes.subarray(0, cut)), ...values(d, bytes.subarray(cut))];
      expect(out, `cut at ${cut}`).toEqual([msg]);
      expect(d.pendingBytes).toBe(0);
    }
  });

  it('a frame fed one byte at a time decodes once, at its last byte', () => {
    const bytes = frame({ a: 1 });
    const d = new FrameDecoder(1024);
    const seen: unknown[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const out = values(d, bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) expect(out).toEqual([]);
      seen.push(...out);
    }
    expect(seen).toEqual([{ a: 1 }]);
  });

  it('several frames in one chunk all come out, in order', () => {
    const msgs = [{ n: 1 }, { n: 2 }, 'three', [4], null];
    const d = new FrameDecoder(1024);
    expect(values(d, Buffer.concat(msgs.map(frame)))).toEqual(msgs);
  });

  it('a 4 GiB length header is rejected at once, before any body arrives, and the decoder stops', () => {
    const d = new FrameDecoder(64 * 1024);
    const header = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    expect(values(d, header)).toEqual([{ error: 'FRAME_TOO_LARGE' }]);
    expect(d.stopped).toBe(true);
    expect(d.pendingBytes).toBe(0);
    // Whatever follows is ignored rather than buffered.
    expect(values(d, Buffer.alloc(1 << 20, 0x41))).toEqual([]);
    expect(d.pendingBytes).toBe(0);
  });

  it('a header one byte over the cap is refused, one at the cap is accepted', () => {
    const cap = 16;
    const atCap = frame('x'.repeat(cap - 2)); // JSON adds two quotes
    expect(values(new FrameDecoder(cap), atCap)).toEqual(['x'.repeat(cap - 2)]);
    const over = frame('x'.repeat(cap - 1));
    expect(values(new FrameDecoder(cap), over.subarray(0, 4))).toEqual([{ error: 'FRAME_TOO_LARGE' }]);
  });

  it('invalid UTF-8 and invalid JSON are reported per frame and decoding goes on', () => {
    const raw = (body: Buffer) => {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(body.length);
      return Buffer.concat([h, body]);
    };
    const d = new FrameDecoder(1024);
    const out = values(d, Buffer.concat([raw(Buffer.from([0x7b, 0xc3, 0x28, 0x7d])), raw(Buffer.from('{nope')), frame({ ok: 1 })]));
    expect(out).toEqual([{ error: 'FRAME_MALFORMED' }, { error: 'FRAME_MALFORMED' }, { ok: 1 }]);
  });

  it('the encoder counts bytes, not characters, and refuses a message over the cap', () => {
    const bytes = frame('€');
    expect(bytes.readUInt32LE(0)).toBe(5); // quote + 3 bytes + quote
    expect(() => encodeFrame('x'.repeat(100), 50)).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
  });
});
