import { X509Certificate, createPublicKey } from 'node:crypto';
import { request } from 'node:https';
import { hostname, release, arch } from 'node:os';
import { AGENT_API, SandgateError, enrollResponseSchema, type AgentHost } from '@sandgate/shared';
import { consoleRequest } from './console-request.ts';
import { csrFor, newAgentKey } from './agent-csr.ts';
import { writeCredentials, type Enrollment } from './console-files.ts';

export interface EnrollOptions {
  home: string;
  url: string;
  token: string;
  /** SHA-256 of the console CA certificate, as `sandgate-console token create` prints it. */
  caFingerprint?: string | undefined;
  appVersion: string;
  timeoutMs?: number;
}

export interface EnrollOutcome {
  enrollment: Enrollment;
  /** True when no fingerprint was given and the CA was trusted as first seen. */
  trustedOnFirstUse: boolean;
}

export function hostFacts(): AgentHost {
  return { hostname: hostname(), platform: process.platform, release: release(), arch: arch() };
}

export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

const normalise = (fp: string) =>
  fp
    .replace(/^sha-?256:/i, '')
    .replace(/[\s:]/g, '')
    .toLowerCase();

/**
 * Joins a console: pins its CA (by the fingerprint given, or as first seen), makes a key pair here, sends a CSR with
 * the one-time token, and stores the client certificate the console's CA issued. The token travels only after the CA
 * is pinned and the TLS connection verified against it.
 */
export async function enrollWithConsole(o: EnrollOptions): Promise<EnrollOutcome> {
  let base: URL;
  try {
    base = new URL(o.url);
  } catch {
    throw new SandgateError('USAGE', `not a URL: ${o.url}`);
  }
  if (base.protocol !== 'https:') throw new SandgateError('USAGE', `the console URL must be https:// (got ${base.protocol})`);
  const timeoutMs = o.timeoutMs ?? 15_000;

  const caPem = await fetchCaUnverified(new URL(AGENT_API.ca, base), timeoutMs);
  const fingerprint = fingerprintOf(caPem);
  if (o.caFingerprint !== undefined && normalise(o.caFingerprint) !== fingerprint) {
    throw new SandgateError(
      'CONSOLE_CA_MISMATCH',
      `${base.origin} presented a CA with fingerprint ${fingerprint}, not the expected ${normalise(o.caFingerprint)}; nothing was sent`,
      {
        params: { presented: fingerprint },
      },
    );
  }

  const keyPem = newAgentKey();

  const answer = await consoleRequest(
    {
      method: 'POST',
      url: new URL(AGENT_API.enroll, base),
      body: { token: o.token, csr: csrFor(keyPem, hostFacts().hostname), host: hostFacts(), appVersion: o.appVersion },
      tls: { ca: caPem },
      timeoutMs,
    },
    enrollResponseSchema,
  );

  // The console must answer with the CA we pinned and a certificate for our key, issued by that CA.
  if (fingerprintOf(answer.caCertificate) !== fingerprint)
    throw new SandgateError('CONSOLE_CA_MISMATCH', 'the console answered with another CA than the one it presented');
  const cert = new X509Certificate(answer.certificate);
  if (!cert.checkIssued(new X509Certificate(caPem)) || !cert.verify(new X509Certificate(caPem).publicKey)) {
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', 'the client certificate the console sent was not issued by its CA');
  }
  const ours = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ours)) {
    throw new SandgateError('CONSOLE_RESPONSE_INVALID', 'the client certificate the console sent is not for this agent’s key');
  }

  const enrollment: Enrollment = {
    url: base.origin,
    agentId: answer.agentId,
    caFingerprint: fingerprint,
    enrolledAt: new Date().toISOString(),
    ...(answer.group ? { group: answer.group } : {}),
  };
  await writeCredentials(o.home, { enrollment, key: keyPem, cert: answer.certificate, ca: caPem });
  return { enrollment, trustedOnFirstUse: o.caFingerprint === undefined };
}

/** The CA as the console serves it, before anything is trusted; the caller pins it by fingerprint. */
function fetchCaUnverified(url: URL, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', rejectUnauthorized: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        text += d;
        if (text.length > 64 * 1024) req.destroy(new Error('CA answer too large'));
      });
      res.on('end', () => {
        clearTimeout(timer);
        const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
        if (res.statusCode !== 200 || !pem)
          return reject(
            new SandgateError('CONSOLE_RESPONSE_INVALID', `${url.origin} is not a Sandgate console (no CA at ${url.pathname})`),
          );
        try {
          if (!new X509Certificate(pem).ca) throw new Error('not a CA certificate');
        } catch (err) {
          return reject(
            new SandgateError('CONSOLE_RESPONSE_INVALID', `${url.origin} served an unusable CA certificate: ${(err as Error).message}`),
          );
        }
        resolve(pem + '\n');
      });
    });
    const timer = setTimeout(() => req.destroy(new Error('timed out')), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SandgateError('CONSOLE_UNREACHABLE', `${url.origin} could not be reached (${err.code ?? err.message})`, { cause: err }));
    });
    req.end();
  });
}
