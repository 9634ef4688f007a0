import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAnalysisSchema, labErrorSchema, labHealthSchema } from '@sandgate/shared';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { EICAR_STRING } from '#lab/engines/eicar.ts';
import { labRequest, waitForAnalysis } from '#test-helpers/lab-request.ts';
import { pollFor } from '#test-helpers/stack.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const eicar = Buffer.from(EICAR_STRING, 'latin1');
const cleanPdf = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1');

let root: string;
let dataDir: string;
let lab: RunningLab;

async function upload(body: Buffer, headers: Record<string, string | number> = {}) {
  return labRequest(lab, 'POST', '/api/v1/submissions', {
    headers: { 'content-type': 'application/octet-stream', 'content-length': body.length, 'x-sandgate-sha256': sha256(body), ...headers },
    body,
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sandgate-lab-api-'));
  dataDir = join(root, 'lab');
  lab = await startLab({ port: 0, dataDir, maxUploadBytes: 1024 * 1024 });
});

afterAll(async () => {
  await lab?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('sandgate-lab HTTPS API', () => {
  it('answers health over TLS pinned to the certificate it made, and says it is static analysis', async () => {
    expect(lab.certPath).toBe(join(dataDir, 'tls', 'cert.pem'));
    const r = await labRequest(lab, 'GET', '/api/v1/health');
    expect(r.status).toBe(200);
    const health = labHealthSchema.parse(r.body);
    expect(health).toMatchObject({ ok: true, protocol: 1, server: 'sandgate-lab', analysis: 'static', maxUploadBytes: 1024 * 1024 });
    expect(health.engines).toEqual(['eicar', 'sha256-blocklist', 'yara-x', 'file-type']);
  });

  it('refuses a client that does not trust its certificate, and one limited to TLS 1.1', async () => {
    await expect(labRequest(lab, 'GET', '/api/v1/health', { ca: null })).rejects.toThrow(/self.signed|certificate/i);
    const { request } = await import('node:https');
    const u = new URL(lab.url);
    const old = new Promise((ok, fail) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: '/api/v1/health',
          ca: readFileSync(lab.certPath),
          maxVersion: 'TLSv1.1',
          minVersion: 'TLSv1',
          agent: false,
        },
        ok,
      );
      req.on('error', fail);
      req.end();
    });
    await expect(old).rejects.toThrow();
  });

  it('answers 404 NOT_FOUND for an object it has never seen', async () => {
    const r = await labRequest(lab, 'GET', `/api/v1/files/${'0'.repeat(64)}`);
    expect(r.status).toBe(404);
    expect(labErrorSchema.parse(r.body).error.code).toBe('NOT_FOUND');
  });

  it('judges the EICAR test file malicious after an asynchronous analysis, and remembers it by sha256', async () => {
    const r = await upload(eicar, { 'x-sandgate-filename': encodeURIComponent('eicar test.com') });
    expect(r.status).toBe(202);
    const queued = labAnalysisSchema.parse(r.body);
    expect(['queued', 'analysing', 'done']).toContain(queued.state);
    expect(queued).toMatchObject({ sha256: sha256(eicar), size: 68 });
    expect(r.headers.location).toBe(`/api/v1/submissions/${queued.id}`);

    const done = await waitForAnalysis(lab, queued.id);
    expect(done.state).toBe('done');
    expect(done.verdict).toMatchObject({ level: 'malicious', threat: 'EICAR-Test-File', score: 100 });
    expect(done.verdict?.indicators).toEqual(
      expect.arrayContaining([
        { type: 'md5', value: '44d88612fea8a8f36de82e1278abb02f' },
        { type: 'sha1', value: '3395856ce81f2b7382dee72602f798b642f14140' },
        { type: 'size', value: '68' },
        { type: 'file-name', value: 'eicar test.com' },
      ]),
    );
    const lookedUp = await labRequest(lab, 'GET', `/api/v1/files/${sha256(eicar)}`);
    expect(lookedUp.status).toBe(200);
    expect(labAnalysisSchema.parse(lookedUp.body)).toEqual(done);
    // Judged objects are not kept: the lab holds verdicts, not samples. The object goes once the verdict is on disk,
    // a moment after the verdict is answered, so this waits for it (the test's timeout bounds the wait).
    await pollFor('the judged object to be deleted', () => readdirSync(join(dataDir, 'objects')).length === 0 || undefined);
  });

  it('judges a plain PDF clean and names its type', async () => {
    const r = await upload(cleanPdf);
    const done = await waitForAnalysis(lab, labAnalysisSchema.parse(r.body).id);
    expect(done.verdict?.level).toBe('clean');
    expect(done.verdict?.score).toBe(0);
    expect(done.verdict?.indicators).toContainEqual({ type: 'file-type', value: 'PDF document', source: 'file-type' });
  });

  it('refuses a body whose bytes do not match x-sandgate-sha256 with 400 HASH_MISMATCH and keeps nothing', async () => {
    const body = Buffer.from('these are not the bytes you hashed');
    const claimed = sha256(Buffer.from('other bytes'));
    const r = await upload(body, { 'x-sandgate-sha256': claimed });
    expect(r.status).toBe(400);
    expect(labErrorSchema.parse(r.body).error.code).toBe('HASH_MISMATCH');
    expect((await labRequest(lab, 'GET', `/api/v1/files/${claimed}`)).status).toBe(404);
    expect((await labRequest(lab, 'GET', `/api/v1/files/${sha256(body)}`)).status).toBe(404);
    expect(readdirSync(join(dataDir, 'incoming'))).toEqual([]);
  });

  it('answers a duplicate submission with the existing analysis and does not analyse again', async () => {
    const obj = Buffer.from('duplicate me ' + Date.now());
    const first = await waitForAnalysis(lab, labAnalysisSchema.parse((await upload(obj)).body).id);
    const again = await upload(obj);
    expect(again.status).toBe(202);
    expect(labAnalysisSchema.parse(again.body)).toEqual(first);
  });

  it('with Expect: 100-continue, answers a known object before its bytes are sent', async () => {
    const known = await labRequest(lab, 'POST', '/api/v1/submissions', {
      headers: { 'content-length': eicar.length, 'x-sandgate-sha256': sha256(eicar) },
      body: eicar,
      expectContinue: true,
    });
    expect(known.status).toBe(202);
    expect(known.continued).toBe(false);
    expect(labAnalysisSchema.parse(known.body).verdict?.threat).toBe('EICAR-Test-File');

    const fresh = Buffer.from('never seen before ' + Math.random());
    const unknown = await labRequest(lab, 'POST', '/api/v1/submissions', {
      headers: { 'content-length': fresh.length, 'x-sandgate-sha256': sha256(fresh) },
      body: fresh,
      expectContinue: true,
    });
    expect(unknown.continued).toBe(true);
    expect(unknown.status).toBe(202);
  });

  it('drops an upload cut off midway, leaves no partial file and keeps serving', async () => {
    const { request } = await import('node:https');
    const u = new URL(lab.url);
    const claimed = sha256(Buffer.from('the whole object'));
    await new Promise<void>((ok) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: '/api/v1/submissions',
        method: 'POST',
        ca: readFileSync(lab.certPath),
        agent: false,
        headers: { 'content-length': 100_000, 'x-sandgate-sha256': claimed },
      });
      req.on('error', () => ok());
      req.write(Buffer.alloc(10_000), () => req.destroy());
    });
    // The server notices the reset on its own schedule; poll until the partial file is gone (the test timeout bounds it).
    while (readdirSync(join(dataDir, 'incoming')).length > 0) await new Promise((ok) => setTimeout(ok, 20));
    expect((await labRequest(lab, 'GET', `/api/v1/files/${claimed}`)).status).toBe(404);
    expect((await labRequest(lab, 'GET', '/api/v1/health')).status).toBe(200);
  });

  it('makes one analysis when the same new object is uploaded twice at once', async () => {
    const obj = Buffer.from('concurrent twin ' + Math.random());
    const [a, b] = await Promise.all([upload(obj), upload(obj)]);
    expect(labAnalysisSchema.parse(a.body).id).toBe(labAnalysisSchema.parse(b.body).id);
  });

  it('requires Content-Length, enforces the size limit, and checks the sha256 header', async () => {
    const chunked = await labRequest(lab, 'POST', '/api/v1/submissions', {
      headers: { 'x-sandgate-sha256': sha256(eicar) },
      body: Readable.from([eicar]),
    });
    expect(chunked.status).toBe(411);
    expect(labErrorSchema.parse(chunked.body).error.code).toBe('LENGTH_REQUIRED');

    const big = Buffer.alloc(1024 * 1024 + 1);
    const tooLarge = await labRequest(lab, 'POST', '/api/v1/submissions', {
      headers: { 'content-length': big.length, 'x-sandgate-sha256': sha256(big) },
      expectContinue: true,
      body: big,
    });
    expect(tooLarge.status).toBe(413);
    expect(labErrorSchema.parse(tooLarge.body).error.code).toBe('TOO_LARGE');

    const noHash = await labRequest(lab, 'POST', '/api/v1/submissions', { headers: { 'content-length': 3 }, body: Buffer.from('abc') });
    expect(noHash.status).toBe(400);
    expect(labErrorSchema.parse(noHash.body).error.code).toBe('BAD_REQUEST');
  });

  it('answers unknown paths 404, wrong methods 405, and malformed ids 400, all as protocol errors', async () => {
    const cases: [string, string, number, string][] = [
      ['GET', '/', 404, 'NOT_FOUND'],
      ['GET', '/api/v2/health', 404, 'NOT_FOUND'],
      ['GET', '/api/v1/submissions/00000000-0000-0000-0000-000000000000', 404, 'NOT_FOUND'],
      ['DELETE', '/api/v1/health', 405, 'METHOD_NOT_ALLOWED'],
      ['GET', '/api/v1/submissions', 405, 'METHOD_NOT_ALLOWED'],
      ['POST', `/api/v1/files/${'0'.repeat(64)}`, 405, 'METHOD_NOT_ALLOWED'],
      ['GET', '/api/v1/files/not-a-hash', 400, 'BAD_REQUEST'],
      ['GET', '/api/v1/submissions/..%2F..%2Fetc', 400, 'BAD_REQUEST'],
    ];
    for (const [method, path, status, code] of cases) {
      const r = await labRequest(lab, method, path);
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(labErrorSchema.parse(r.body).error.code).toBe(code);
    }
  });

  it('applies the administrator blocklist and YARA rules in its data folder without a restart', async () => {
    const banned = Buffer.from('banned by the administrator ' + Math.random());
    writeFileSync(join(dataDir, 'blocklist.txt'), `# test list\n${sha256(banned)} Corp.Banned.Sample\n`);
    mkdirSync(join(dataDir, 'rules'), { recursive: true });
    writeFileSync(
      join(dataDir, 'rules', 'demo.yar'),
      'rule Demo_Marker { meta: threat = "Demo.Marker" strings: $a = "SANDGATE-DEMO-MARKER" condition: $a }',
    );
    const byHash = await waitForAnalysis(lab, labAnalysisSchema.parse((await upload(banned)).body).id);
    expect(byHash.verdict).toMatchObject({ level: 'malicious', threat: 'Corp.Banned.Sample' });
    const byRule = await waitForAnalysis(lab, labAnalysisSchema.parse((await upload(Buffer.from('xx SANDGATE-DEMO-MARKER xx'))).body).id);
    expect(byRule.verdict).toMatchObject({ level: 'malicious', threat: 'Demo.Marker' });
    expect(byRule.verdict?.indicators).toContainEqual({ type: 'yara-rule', value: 'Demo_Marker', source: 'yara-x' });
  });
});

describe('sandgate-lab restarts', () => {
  it('remembers verdicts and keeps its certificate across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-restart-'));
    try {
      const first = await startLab({ port: 0, dataDir: dir });
      const cert = readFileSync(first.certPath, 'utf8');
      const r = await labRequest(first, 'POST', '/api/v1/submissions', {
        headers: { 'content-length': eicar.length, 'x-sandgate-sha256': sha256(eicar) },
        body: eicar,
      });
      await waitForAnalysis(first, labAnalysisSchema.parse(r.body).id);
      await first.close();

      const second = await startLab({ port: 0, dataDir: dir });
      try {
        expect(readFileSync(second.certPath, 'utf8')).toBe(cert);
        const known = await labRequest(second, 'GET', `/api/v1/files/${sha256(eicar)}`);
        expect(known.status).toBe(200);
        expect(labAnalysisSchema.parse(known.body).verdict?.threat).toBe('EICAR-Test-File');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finishes an analysis that a shutdown interrupted, on the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-resume-'));
    try {
      // A long analysis delay keeps the object queued until the lab is closed.
      const first = await startLab({ port: 0, dataDir: dir, analysisDelayMs: 600_000 });
      const r = await labRequest(first, 'POST', '/api/v1/submissions', {
        headers: { 'content-length': eicar.length, 'x-sandgate-sha256': sha256(eicar) },
        body: eicar,
      });
      const queued = labAnalysisSchema.parse(r.body);
      expect(queued.state).toBe('queued');
      await first.close();
      expect(existsSync(join(dir, 'objects', sha256(eicar)))).toBe(true);

      const second = await startLab({ port: 0, dataDir: dir });
      try {
        const done = await waitForAnalysis(second, queued.id);
        expect(done.verdict?.threat).toBe('EICAR-Test-File');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
