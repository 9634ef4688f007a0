import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Readable } from 'node:stream';
import { labAnalysisSchema, type LabAnalysis } from '@sandgate/shared';

export interface LabTarget {
  url: string;
  certPath: string;
  /** The lab's client token, sent as `Authorization: Bearer` unless a request says otherwise. */
  token?: string;
}

export interface LabResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Whether the server sent `100 Continue` (only meaningful with `expectContinue`). */
  continued: boolean;
}

/**
 * A real TLS client that trusts only the lab's own certificate, as the agent does with `serverCertificate`, and sends
 * the lab's token (`token: null` sends none, a string sends that one). Every response body is JSON by protocol; a
 * non-JSON body fails the parse and the test.
 */
export function labRequest(
  lab: LabTarget,
  method: string,
  path: string,
  opts: {
    headers?: Record<string, string | number>;
    body?: Buffer | Readable;
    expectContinue?: boolean;
    ca?: string | null;
    token?: string | null;
    /** Extra TLS options, e.g. a client certificate or a local address to connect from. */
    tls?: { cert?: string; key?: string; localAddress?: string };
  } = {},
): Promise<LabResponse> {
  const u = new URL(path, lab.url);
  const ca = opts.ca === null ? undefined : (opts.ca ?? readFileSync(lab.certPath, 'utf8'));
  const token = opts.token === null ? undefined : (opts.token ?? lab.token);
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = request(
      {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: u.pathname + u.search,
        method,
        ...(ca ? { ca } : {}),
        ...opts.tls,
        agent: false,
        headers: {
          ...(opts.expectContinue ? { expect: '100-continue' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined, continued });
          } catch (err) {
            reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}`, { cause: err }));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const send = () => {
      const body = opts.body;
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else body.pipe(req);
    };
    if (opts.expectContinue) {
      req.on('continue', () => {
        continued = true;
        send();
      });
      req.flushHeaders();
    } else {
      send();
    }
  });
}

/** Polls a submission until its analysis is finished; the overall limit is the test's timeout, not a guess here. */
export async function waitForAnalysis(lab: LabTarget, id: string): Promise<LabAnalysis> {
  for (;;) {
    const r = await labRequest(lab, 'GET', `/api/v1/submissions/${id}`);
    const a = labAnalysisSchema.parse(r.body);
    if (a.state === 'done' || a.state === 'failed') return a;
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

export const sha256Of = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** `POST /api/v1/submissions` of `body` with its length and hash, as the agent sends it. */
export function uploadObject(
  lab: LabTarget,
  body: Buffer,
  opts: { headers?: Record<string, string | number>; expectContinue?: boolean; token?: string | null } = {},
): Promise<LabResponse> {
  const { headers, ...rest } = opts;
  return labRequest(lab, 'POST', '/api/v1/submissions', {
    headers: { 'content-type': 'application/octet-stream', 'content-length': body.length, 'x-sandgate-sha256': sha256Of(body), ...headers },
    body,
    ...rest,
  });
}

/** Uploads `body` and waits for its analysis to finish. */
export async function judge(lab: LabTarget, body: Buffer): Promise<LabAnalysis> {
  const r = await uploadObject(lab, body);
  if (r.status !== 202) throw new Error(`upload answered ${r.status}: ${JSON.stringify(r.body)}`);
  return waitForAnalysis(lab, labAnalysisSchema.parse(r.body).id);
}
