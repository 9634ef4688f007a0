import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { UploadBody } from './sandbox-client.ts';

/**
 * A multipart/form-data upload of one file plus plain fields, streamed from the queue: the headers and the closing
 * boundary are small buffers around a file stream, so memory stays flat for a multi-GiB object and the exact
 * Content-Length is known before the first byte is sent (CAPE's Django and Cuckoo's Flask both want one).
 */
export interface MultipartFile {
  /** Form field name (`file` for CAPE and Cuckoo). */
  field: string;
  /** Advisory name the server shows and keeps. */
  filename: string;
  /** The object's bytes (`body.size` of them); they must not change while the body is sent. */
  body: UploadBody;
  contentType?: string;
}

export interface MultipartBody {
  /** `multipart/form-data; boundary=…` */
  contentType: string;
  contentLength: number;
  /** A fresh stream of the whole body each call (a retried request reads the object again). */
  open(): Readable;
}

/**
 * Quotes a name for a Content-Disposition parameter the way browsers do (WHATWG HTML "multipart/form-data encoding"):
 * `"`, CR and LF are percent-escaped; other characters, UTF-8 included, are sent as they are.
 */
function quoteParam(s: string): string {
  return s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Only the last path component is sent: the server needs a name, never where the agent keeps the object. */
function baseName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? '';
  return last.length > 0 ? last : 'sample';
}

export function multipartBody(opts: {
  file: MultipartFile;
  fields?: Array<{ name: string; value: string }>;
  boundary?: string;
}): MultipartBody {
  // 192 random bits: the chance that the boundary occurs inside the object is negligible, which is what every
  // browser relies on too; scanning a multi-GiB object for it first would double the reading.
  const boundary = opts.boundary ?? `----SandgateFormBoundary${randomBytes(24).toString('hex')}`;
  const head: string[] = [];
  for (const f of opts.fields ?? []) {
    head.push(`--${boundary}\r\nContent-Disposition: form-data; name="${quoteParam(f.name)}"\r\n\r\n${f.value}\r\n`);
  }
  const file = opts.file;
  head.push(
    `--${boundary}\r\nContent-Disposition: form-data; name="${quoteParam(file.field)}"; filename="${quoteParam(baseName(file.filename))}"\r\n` +
      `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
  );
  const prefix = Buffer.from(head.join(''), 'utf8');
  const suffix = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: prefix.length + file.body.size + suffix.length,
    open: () => Readable.from(parts(prefix, file, suffix), { objectMode: false }),
  };
}

async function* parts(prefix: Buffer, file: MultipartFile, suffix: Buffer): AsyncGenerator<Buffer> {
  yield prefix;
  let sent = 0;
  const size = file.body.size;
  for await (const chunk of file.body.open()) {
    sent += (chunk as Buffer).length;
    // A body longer or shorter than its Content-Length would hang or confuse the server; fail loudly instead.
    if (sent > size) throw new Error(`the object grew while it was being uploaded`);
    yield chunk as Buffer;
  }
  if (sent !== size) throw new Error(`the object is ${sent} bytes, not the ${size} expected`);
  yield suffix;
}
