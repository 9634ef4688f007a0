import { createServer, type Server } from 'node:http';
import { crc32, deflateSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

/**
 * A local web page to download from, for `npm start`, the real-browser tier and the benchmarks: `<a download>` links to
 * the EICAR test file, a clean PDF, a 302 redirect to a `setup.exe`, and a `.png` the extension must not capture.
 * Everything is made in code at start, so no test object is ever committed.
 */

/**
 * The EICAR anti-virus test file (68 bytes). Assembled from pieces so that scanners reading this source file do not
 * flag the repository itself.
 */
export function eicarBytes(): Buffer {
  const pieces = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-', 'ANTIVIRUS-TEST-', 'FILE!$H+H*'];
  return Buffer.from(pieces.join(''), 'latin1');
}

/** A small, valid one-page PDF (correct xref offsets) whose text is `label`, so each call can be made unique. */
export function cleanPdfBytes(label = 'Sandgate clean test document'): Buffer {
  const text = label.replace(/[()\\]/g, '');
  const stream = `BT /F1 18 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((obj, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${obj}\nendobj\n`;
  });
  const xrefAt = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) body += `${String(off).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** A valid 1×1 PNG; `seed` changes the pixel so each call can be made unique. */
export function pngBytes(seed = 0): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const raw = Buffer.from([0, seed & 0xff, (seed >> 8) & 0xff, (seed >> 16) & 0xff]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A tiny PE-looking installer: an `MZ` header and harmless filler. Not executable, and not malicious. */
export function setupExeBytes(): Buffer {
  const b = Buffer.alloc(4096, 0);
  b.write('MZ', 0, 'latin1');
  b.write('This program cannot be run in DOS mode. Sandgate test installer.', 0x4e, 'latin1');
  return b;
}

export interface ServedFile {
  body: Buffer;
  contentType: string;
}

export interface DownloadServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The page with one `<a download>` link per file. */
  pageUrl: string;
  /** `${origin}/files/<name>` */
  fileUrl(name: string): string;
  /** `${origin}/redir/setup.exe`, which answers 302 to `/files/setup.exe`. */
  redirectUrl: string;
  /** The bytes served under each name, for byte-identity checks. */
  files: ReadonlyMap<string, ServedFile>;
  /** Adds or replaces a file (the page lists it from then on). */
  addFile(name: string, body: Buffer, contentType?: string): string;
  /** Paths requested so far, in order. */
  requests: readonly string[];
  close(): Promise<void>;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Listens on 127.0.0.1 only; `port` 0 (the default) picks a free one. */
export async function startDownloadServer(opts: { port?: number } = {}): Promise<DownloadServer> {
  const files = new Map<string, ServedFile>([
    ['eicar.com', { body: eicarBytes(), contentType: 'application/octet-stream' }],
    ['clean.pdf', { body: cleanPdfBytes(), contentType: 'application/pdf' }],
    ['setup.exe', { body: setupExeBytes(), contentType: 'application/x-msdownload' }],
    ['picture.png', { body: pngBytes(), contentType: 'image/png' }],
  ]);
  const requests: string[] = [];

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    requests.push(path);
    if (path === '/' || path === '/index.html') {
      const links = [...files.keys()]
        .map((n) => `<li><a id="${escapeHtml(n)}" href="/files/${encodeURIComponent(n)}" download>${escapeHtml(n)}</a></li>`)
        .join('\n');
      const html = `<!doctype html><html><head><meta charset="utf-8"><title>Sandgate downloads</title></head><body>
<h1>Sandgate test downloads</h1>
<p>eicar.com is the EICAR anti-virus test file (harmless, detected as malicious by design); it should vanish from
your download folder into quarantine. clean.pdf should stay. picture.png is not something Sandgate captures.</p>
<ul>
${links}
<li><a id="redirect-setup" href="/redir/setup.exe" download>setup.exe (redirected)</a></li>
</ul></body></html>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    if (path === '/redir/setup.exe') {
      res.writeHead(302, { location: '/files/setup.exe', 'cache-control': 'no-store' });
      res.end();
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(404);
      res.end();
      return;
    }
    const m = /^\/files\/([^/]+)$/.exec(path);
    const file = m ? files.get(decodeURIComponent(m[1]!)) : undefined;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': file.contentType,
      'content-length': String(file.body.length),
      'cache-control': 'no-store',
    });
    res.end(file.body);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fileUrl = (name: string): string => `${origin}/files/${encodeURIComponent(name)}`;

  return {
    origin,
    pageUrl: `${origin}/`,
    fileUrl,
    redirectUrl: `${origin}/redir/setup.exe`,
    files,
    addFile(name, body, contentType = 'application/octet-stream') {
      files.set(name, { body, contentType });
      return fileUrl(name);
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
