import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_HOST_MESSAGE_BYTES } from '@sandgate/shared';
import { silentLogger } from '#native-host/log.ts';
import { FrameDecoder } from '#native-host/wire/framing.ts';
import { createHostWriter } from '#native-host/stdio/host-writer.ts';

function capture() {
  const out = new PassThrough();
  const d = new FrameDecoder(64 * 1024 * 1024);
  const frames: unknown[] = [];
  let bytes = 0;
  out.on('data', (c: Buffer) => {
    bytes += c.length;
    for (const r of d.push(c)) frames.push(r.ok ? r.value : r.error.code);
  });
  return { out, frames, bytes: () => bytes };
}

describe('host → browser writer', () => {
  it('a response over 1 MiB becomes a RESPONSE_TOO_LARGE error for the same id, and nothing over the cap is written', async () => {
    const c = capture();
    const w = createHostWriter(c.out, silentLogger);
    w.response({ v: 1, kind: 'response', id: 'big', ok: true, data: 'x'.repeat(MAX_HOST_MESSAGE_BYTES) });
    await w.flush();
    expect(c.frames).toEqual([
      expect.objectContaining({ id: 'big', ok: false, error: expect.objectContaining({ code: 'RESPONSE_TOO_LARGE' }) }),
    ]);
    expect(c.bytes()).toBeLessThan(4096);
  });

  it('a response of exactly 1 MiB passes', async () => {
    const c = capture();
    const w = createHostWriter(c.out, silentLogger);
    const envelope = JSON.stringify({ v: 1, kind: 'response', id: 'x', ok: true, data: '' });
    w.response({ v: 1, kind: 'response', id: 'x', ok: true, data: 'y'.repeat(MAX_HOST_MESSAGE_BYTES - envelope.length) });
    await w.flush();
    expect(c.bytes()).toBe(4 + MAX_HOST_MESSAGE_BYTES);
    expect(c.frames[0]).toMatchObject({ id: 'x', ok: true });
  });

  it('an oversized event is dropped and the next one still goes out', async () => {
    const c = capture();
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
    const w = createHostWriter(c.out, log);
    const huge = {
      v: 1,
      kind: 'event',
      type: 'agent-status',
      payload: { serversReachable: true, queueFull: false, pad: 'z'.repeat(MAX_HOST_MESSAGE_BYTES) },
    };
    w.event(huge as never);
    w.event({ v: 1, kind: 'event', type: 'agent-status', payload: { serversReachable: false, queueFull: true } });
    await w.flush();
    expect(c.frames).toEqual([expect.objectContaining({ type: 'agent-status', payload: { serversReachable: false, queueFull: true } })]);
    expect(warnings).toEqual(['event over the native-messaging cap dropped']);
  });
});
