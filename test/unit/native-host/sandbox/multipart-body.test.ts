import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileBody } from '#native-host/queue/object-body.ts';
import { multipartBody } from '#native-host/sandbox/multipart-body.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-multipart-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function drain(r: Readable): Promise<{ bytes: Buffer; chunks: number; largest: number }> {
  const parts: Buffer[] = [];
  let largest = 0;
  for await (const c of r) {
    parts.push(c as Buffer);
    largest = Math.max(largest, (c as Buffer).length);
  }
  return { bytes: Buffer.concat(parts), chunks: parts.length, largest };
}

/** Parsed by the platform's own form-data parser (undici, as `fetch` uses): an encoder bug cannot hide behind a matching decoder. */
async function parse(body: Buffer, contentType: string): Promise<FormData> {
  return new Response(body, { headers: { 'content-type': contentType } }).formData();
}

function file(name: string, content: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('multipart upload body', () => {
  it('is valid multipart/form-data whose file part holds the exact bytes, with a Content-Length equal to what is sent', async () => {
    // Bytes that look like multipart syntax must pass through untouched.
    const content = Buffer.concat([Buffer.from('\r\n--not-the-boundary\r\n'), randomBytes(200_000), Buffer.from([0, 13, 10, 45, 45])]);
    const body = multipartBody({
      file: { field: 'file', filename: 'setup.exe', body: fileBody(file('a.obj', content), content.length) },
      fields: [{ name: 'timeout', value: '120' }],
    });
    const { bytes } = await drain(body.open());
    expect(bytes.length).toBe(body.contentLength);
    const form = await parse(bytes, body.contentType);
    expect(form.get('timeout')).toBe('120');
    const part = form.get('file') as File;
    expect(part.name).toBe('setup.exe');
    const got = Buffer.from(await part.arrayBuffer());
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('handles an empty file', async () => {
    const body = multipartBody({ file: { field: 'file', filename: 'empty', body: fileBody(file('empty.obj', Buffer.alloc(0)), 0) } });
    const { bytes } = await drain(body.open());
    expect(bytes.length).toBe(body.contentLength);
    expect(((await parse(bytes, body.contentType)).get('file') as File).size).toBe(0);
  });

  it('sends only the last path component of a name and escapes quotes and line breaks as browsers do', async () => {
    const content = Buffer.from('x');
    const body = multipartBody({
      file: { field: 'file', filename: 'C:\\Users\\me\\in"voice\r\n.pdf', body: fileBody(file('n.obj', content), 1) },
    });
    const { bytes } = await drain(body.open());
    expect(bytes.toString('latin1')).toContain('filename="in%22voice%0D%0A.pdf"');
    expect(((await parse(bytes, body.contentType)).get('file') as File).name).toBe('in"voice\r\n.pdf');
  });

  it('keeps a non-ASCII name as UTF-8, and counts it in the length', async () => {
    const body = multipartBody({
      file: { field: 'file', filename: 'Rechnung-März.pdf', body: fileBody(file('u.obj', Buffer.from('pdf')), 3) },
    });
    const { bytes } = await drain(body.open());
    expect(bytes.length).toBe(body.contentLength);
    expect(((await parse(bytes, body.contentType)).get('file') as File).name).toBe('Rechnung-März.pdf');
  });

  it('streams the file in bounded chunks instead of loading it, and can be opened again for a retry', async () => {
    const size = 8 * 1024 * 1024;
    const body = multipartBody({
      file: { field: 'file', filename: 'big.iso', body: fileBody(file('big.obj', Buffer.alloc(size, 7)), size) },
    });
    const first = await drain(body.open());
    expect(first.chunks).toBeGreaterThan(size / (1024 * 1024));
    expect(first.largest).toBeLessThanOrEqual(1024 * 1024);
    const second = await drain(body.open());
    expect(second.bytes.equals(first.bytes)).toBe(true);
  });

  it('fails the stream when the file is not the size it was said to be, rather than send a wrong Content-Length', async () => {
    // A body that does not check its own length (the queue's do), so that this check is the one that fails.
    const p = file('short.obj', Buffer.from('12345'));
    const said = (size: number) => ({ size, open: () => createReadStream(p) });
    await expect(drain(multipartBody({ file: { field: 'file', filename: 's', body: said(10) } }).open())).rejects.toThrow(
      /5 bytes, not the 10/,
    );
    await expect(drain(multipartBody({ file: { field: 'file', filename: 's', body: said(2) } }).open())).rejects.toThrow(/grew/);
  });
});
