import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labErrorSchema } from '@sandgate/shared';
import { spawnLab, type LabProcess } from '#test-helpers/lab-process.ts';
import { sha256Of, uploadObject } from '#test-helpers/lab-request.ts';
import { pollFor } from '#test-helpers/stack.ts';

// Attack (slow loris): a client with the lab's token (a rogue or compromised workstation) starts many uploads and
// sends each one a byte at a time, slower than any real upload, or never finishes its headers. Before the fix the
// lab had no upload cap and no request timeout: each such upload held a socket and a half-written file for as long
// as the client cared to dribble (1,000 of them held 2,000 descriptors well past the idle timeout), until the lab
// could take no more. Now only --max-uploads are received at once, an upload below --min-upload-rate is cut with
// UPLOAD_TOO_SLOW and its partial file deleted, and headers must arrive within --headers-timeout-ms.
//
// Short limits keep this quick; what is asserted is outcomes (codes, descriptors back to where they were), never
// how long anything took.

const MAX_UPLOADS = 4;
const BODY_DRIBBLERS = 12;
const HEADER_DRIBBLERS = 4;
const SLACK = 3;

let dir: string;
let lab: LabProcess;
let baseline: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-sec-slowloris-'));
  lab = await spawnLab(join(dir, 'lab'), [
    '--max-uploads',
    String(MAX_UPLOADS),
    '--min-upload-rate',
    '1K',
    '--rate-window-ms',
    '500',
    '--headers-timeout-ms',
    '2000',
  ]);
  expect((await uploadObject(lab, Buffer.from('warm-up'))).status).toBe(202);
  baseline = lab.descriptors();
});
afterAll(async () => {
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Dribbler {
  socket: TLSSocket;
  received: string;
  closed: boolean;
}

/** Sends `head` at once (or nothing), then one byte of `drip` every 100 ms until the lab hangs up. */
function dribble(head: string, drip: string): Dribbler {
  const u = new URL(lab.url);
  const socket = connect({ host: u.hostname, port: Number(u.port), ca: readFileSync(lab.certPath) });
  const d: Dribbler = { socket, received: '', closed: false };
  socket.on('error', () => {});
  socket.setEncoding('utf8').on('data', (s: string) => (d.received += s));
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  socket.once('close', () => {
    d.closed = true;
    clearInterval(timer);
  });
  socket.once('secureConnect', () => {
    socket.write(head);
    timer = setInterval(() => {
      if (!d.closed && !socket.destroyed) socket.write(drip[i++ % drip.length]!);
    }, 100);
  });
  return d;
}

function labCode(d: Dribbler): string | undefined {
  const body = d.received.split('\r\n\r\n')[1];
  const parsed = body ? labErrorSchema.safeParse(JSON.parse(body)) : undefined;
  return parsed?.success ? parsed.data.error.code : undefined;
}

describe('attack: many slow uploads', () => {
  it('every slow upload is refused or cut, nothing of them is kept, and the lab holds what it held before', async () => {
    const size = 1024 * 1024;
    const sha = sha256Of(Buffer.alloc(size));
    const uploadHead = `POST /api/v1/submissions HTTP/1.1\r\nHost: lab\r\nAuthorization: Bearer ${lab.token}\r\nContent-Length: ${size}\r\nx-sandgate-sha256: ${sha}\r\n\r\n`;
    const bodies = Array.from({ length: BODY_DRIBBLERS }, () => dribble(uploadHead, '\0'));
    const headers = Array.from({ length: HEADER_DRIBBLERS }, () =>
      dribble('', `POST /api/v1/submissions HTTP/1.1\r\nHost: lab\r\nX-Padding: ${'a'.repeat(500)}`),
    );

    await pollFor('the lab to close every slow connection', () => [...bodies, ...headers].every((d) => d.closed) || undefined);

    const codes = bodies.map(labCode);
    expect(
      codes.every((c) => c === 'UPLOAD_TOO_SLOW' || c === 'TOO_MANY_UPLOADS'),
      JSON.stringify(codes),
    ).toBe(true);
    // Never more than --max-uploads received at once: the rest were turned away before a byte of them was read.
    expect(codes.filter((c) => c === 'UPLOAD_TOO_SLOW').length).toBeLessThanOrEqual(MAX_UPLOADS);
    expect(codes.filter((c) => c === 'TOO_MANY_UPLOADS').length).toBeGreaterThanOrEqual(BODY_DRIBBLERS - MAX_UPLOADS);
    expect(bodies.filter((d) => labCode(d) === 'UPLOAD_TOO_SLOW').every((d) => d.received.startsWith('HTTP/1.1 408'))).toBe(true);

    await pollFor('the lab descriptors to return to their baseline', () => lab.descriptors() <= baseline + SLACK || undefined);
    expect(readdirSync(join(dir, 'lab', 'incoming'))).toEqual([]);
  });

  it('afterwards a real upload is received and judged as usual', async () => {
    const r = await uploadObject(lab, Buffer.from('an honest upload after the attack'));
    expect(r.status, lab.stderr()).toBe(202);
  });
});
