import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROWSER_REQUEST_TYPES, requestSchema } from '@sandgate/shared';
import { FrameDecoder } from '#native-host/wire/framing.ts';

describe('test/fixtures/messages/hello.bin', () => {
  it('is exactly one framed hello request the browser is allowed to send', () => {
    const bytes = readFileSync(join(import.meta.dirname, '../../../fixtures/messages/hello.bin'));
    const d = new FrameDecoder(64 * 1024);
    const frames = d.push(bytes);
    expect(frames).toHaveLength(1);
    expect(d.pendingBytes).toBe(0);
    const r = frames[0]!;
    if (!r.ok) throw r.error;
    const req = requestSchema.parse(r.value);
    expect(req.type).toBe('hello');
    expect(BROWSER_REQUEST_TYPES).toContain(req.type);
  });
});
