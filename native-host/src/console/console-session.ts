import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { AGENT_API, SandgateError, heartbeatResponseSchema, type Heartbeat } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { renewalDueAt, renewCertificate } from './cert-renewal.ts';
import { ConsoleEndpoints, isConsoleFault } from './console-endpoints.ts';
import { consoleFiles, type ConsoleCredentials } from './console-files.ts';
import { checkNewTrust, pinnedFingerprints } from './pinned-cas.ts';
import { writeFileAtomic } from '@sandgate/shared/durable-write';
import { consoleRequest } from './console-request.ts';

/** Codes after which retrying is pointless: the console has refused this agent for good. */
const FATAL = new Set(['AGENT_REVOKED', 'CONSOLE_CLIENT_CERT_REQUIRED']);

export interface ConsoleSessionOptions {
  home: string;
  credentials: ConsoleCredentials;
  /** `console.urls` of the policy in force, if any (the enrollment URL is always tried last). */
  policyUrls: string[] | undefined;
  /** The body of a heartbeat, which also probes a console URL that failed. */
  heartbeat: () => Heartbeat;
  /** Where an unfinished renewal leaves its key (`consoleFiles(home).pendingKey`). */
  pendingKeyFile: string;
  /** Upper bound of the reconnect back-off. */
  retryMaxMs: number;
  log: Logger;
}

type Schema = Parameters<typeof consoleRequest>[1];

/**
 * What every loop of the console channel shares: the mutual-TLS credentials (renewed in place), the console URLs and
 * their health, one way to send a request, the back-off, and the stop signal. A fatal refusal (revoked) stops the
 * whole channel.
 */
export class ConsoleSession {
  readonly endpoints: ConsoleEndpoints;
  private readonly o: ConsoleSessionOptions;
  private readonly stopper = new AbortController();
  // Replaced after a certificate renewal: new connections present the new certificate. The old agents are closed at
  // the end (a long-poll may still be running on one).
  private readonly httpsAgents: HttpsAgent[] = [];
  private creds: ConsoleCredentials;
  private tls: { ca: string; cert: string; key: string; agent: HttpsAgent };
  /** Counts certificate changes, so a refusal of a request sent with the previous certificate is recognised. */
  private generation = 0;
  private renewing: Promise<void> | undefined;
  private refused: SandgateError | undefined;

  constructor(o: ConsoleSessionOptions) {
    this.o = o;
    this.creds = o.credentials;
    this.tls = this.tlsFor(o.credentials);
    this.endpoints = new ConsoleEndpoints({
      enrollmentUrl: o.credentials.enrollment.url,
      policyUrls: o.policyUrls,
      // A heartbeat: the process answers over the pinned TLS, knows this agent, and has its database.
      probe: async (url, signal) => {
        await consoleRequest(
          { method: 'POST', url: new URL(AGENT_API.heartbeat, url), body: o.heartbeat(), tls: this.tls, timeoutMs: 10_000, signal },
          heartbeatResponseSchema,
        );
      },
      log: o.log,
    });
  }

  get signal(): AbortSignal {
    return this.stopper.signal;
  }

  get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  get credentials(): ConsoleCredentials {
    return this.creds;
  }

  private tlsFor(c: ConsoleCredentials) {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 4 });
    this.httpsAgents.push(agent);
    return { ca: c.ca, cert: c.cert, key: c.key, agent };
  }

  /**
   * One request, to the first console URL that answers: a transport fault (or a process without its database) sends
   * it on to the next URL at once. A request a failed process may have carried out before failing is carried out
   * again by the next one only where that changes nothing: events are stored once per sequence number, progress
   * reports set a state, and a share delivered twice is started once (the agent remembers its shares).
   */
  private async send<S extends Schema>(method: 'GET' | 'POST', path: string, body: unknown, schema: S, timeoutMs: number) {
    let last: SandgateError | undefined;
    for (const url of this.endpoints.order()) {
      try {
        const answer = await consoleRequest(
          { method, url: new URL(path, url), body, tls: this.tls, timeoutMs, signal: this.signal },
          schema,
        );
        this.endpoints.succeeded(url);
        return answer;
      } catch (err) {
        if (this.stopped || !isConsoleFault(err)) throw err;
        this.endpoints.failed(url, err);
        last = err;
      }
    }
    throw last ?? new SandgateError('CONSOLE_UNREACHABLE', 'no console URL to try');
  }

  /**
   * One request. A CONSOLE_CLIENT_CERT_REQUIRED refusal is not final when the certificate changed meanwhile (the
   * request raced a renewal), or when a renewal's answer was lost (a pending key is on disk: the console may already
   * hold the new certificate): then the request is sent once more with the certificate in force.
   */
  async call<S extends Schema>(method: 'GET' | 'POST', path: string, body: unknown, schema: S, timeoutMs = 15_000) {
    const sentWith = this.generation;
    try {
      return await this.send(method, path, body, schema, timeoutMs);
    } catch (err) {
      if (!(err instanceof SandgateError) || err.code !== 'CONSOLE_CLIENT_CERT_REQUIRED') throw err;
      if (this.renewing) await this.renewing;
      else if (sentWith === this.generation && existsSync(this.o.pendingKeyFile))
        await this.renew('the console refused the certificate while a renewal was unfinished');
      if (sentWith === this.generation) throw err;
      return this.send(method, path, body, schema, timeoutMs);
    }
  }

  /** Renews the client certificate, one attempt at a time; a failure keeps the pair in use (logged, tried again later). */
  renew(why: string): Promise<void> {
    this.renewing ??= (async () => {
      const log = this.o.log;
      try {
        log.info('renewing the console client certificate', { why });
        const first = this.endpoints.order()[0];
        const out = await renewCertificate({
          home: this.o.home,
          credentials: this.creds,
          tls: this.tls,
          signal: this.signal,
          ...(first ? { baseUrl: first } : {}),
        });
        this.creds = out.credentials;
        this.tls = this.tlsFor(this.creds);
        this.generation++;
        log.info('console client certificate renewed', { notAfter: out.notAfter, renewAfter: renewalDueAt(this.creds.cert).toISOString() });
      } catch (err) {
        if (!this.stopped) {
          log.warn('the console client certificate could not be renewed; keeping the current one and trying again later', {
            code: err instanceof SandgateError ? err.code : undefined,
            error: err instanceof Error ? err.message : String(err),
            expires: new Date(new X509Certificate(this.creds.cert).validTo).toISOString(),
          });
        }
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  /**
   * Pins the CAs the console sent (poll `trust`, after a CA retirement): checked (pinned-cas.ts), written atomically
   * to `console/console-ca.pem`, and used for every new connection. Returns false when they are the ones pinned.
   */
  async pinCas(bundle: string): Promise<boolean> {
    const ca = checkNewTrust(bundle, this.creds.ca);
    if (pinnedFingerprints(ca).join() === pinnedFingerprints(this.creds.ca).join()) return false;
    await writeFileAtomic(consoleFiles(this.o.home).ca, ca, 0o600);
    this.creds = { ...this.creds, ca };
    this.tls = this.tlsFor(this.creds);
    this.o.log.info('the console CAs pinned were replaced', { cas: pinnedFingerprints(ca) });
    return true;
  }

  /**
   * A heartbeat now, outside the heartbeat loop: after a renewal or a change of pinned CAs, it tells the console what
   * this agent holds and pins at once (which also ends the renewal's retries there). Best effort.
   */
  async heartbeatNow(): Promise<void> {
    try {
      await this.call('POST', AGENT_API.heartbeat, this.o.heartbeat(), heartbeatResponseSchema);
    } catch (err) {
      this.o.log.warn('heartbeat after a certificate change failed; the next one will say it', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** The number of certificate changes so far (a renewal that worked moves it). */
  get certificateGeneration(): number {
    return this.generation;
  }

  /** Waits `ms`, or less when the channel stops. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Back-off for one loop: 1 s doubling to retryMaxMs, jittered so a fleet does not reconnect in step. */
  backoff(): { fail(what: string, err: unknown): Promise<void>; ok(): void } {
    let next = 1000;
    return {
      fail: async (what, err) => {
        if (err instanceof SandgateError && FATAL.has(err.code)) {
          if (!this.refused)
            this.o.log.error('the console refused this agent; the console channel stops', { code: err.code, error: err.message });
          this.refused = err;
          this.stopper.abort();
          return;
        }
        this.o.log.warn(`console ${what} failed; retrying`, { error: err instanceof Error ? err.message : String(err), retryInMs: next });
        await this.sleep(next * (0.5 + Math.random() / 2));
        next = Math.min(next * 2, this.o.retryMaxMs);
      },
      ok: () => {
        next = 1000;
      },
    };
  }

  /** Stops every loop (their sleeps and requests end) and forgets the console URLs' probes. */
  stop(): void {
    this.stopper.abort();
    this.endpoints.close();
  }

  /** Closes the connections, once the loops have stopped. */
  destroy(): void {
    for (const a of this.httpsAgents) a.destroy();
  }
}
