import { createServer, type Server } from 'node:https';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '../db/db.ts';
import { openConsoleDb } from '../db/open-db.ts';
import { loadOrCreateCa, type ConsoleCa } from '../pki/console-ca.ts';
import { refuseRenegotiation } from '../agent-api/peer-identity.ts';
import { agentApiHandler } from '../agent-api/agent-api.ts';
import { ChangeNotifier } from '../agent-api/change-notifier.ts';
import { adminApiHandler } from '../web/admin-api.ts';
import type { LoginThrottle } from '../users/login-throttle.ts';
import { stderrLog, type LogLine } from '../http/http-util.ts';
import { listenControlSocket } from '../control/control-socket.ts';
import { ensurePrivateDir, lockDataDir } from './data-dir.ts';
import { consoleConfigSchema } from '@sandgate/shared';
import type { LoadedConsoleConfig } from '../config/load-console-config.ts';
import { EventRateLimit } from '../agents/event-rate-limit.ts';
import { SandboxWitness } from '../witness/sandbox-witness.ts';
import { startWakeRelay } from '../agent-api/wake-relay.ts';
import { checkSharedCa } from './shared-ca-check.ts';
import { completePromotion } from '../pki/ca-rotation.ts';
import { watchCaSettings } from './ca-watch.ts';
import { enrollAddress, recordEnrollAddress } from './enroll-address.ts';
import { join } from 'node:path';

export interface ConsoleOptions {
  dataDir: string;
  /** A PostgreSQL server; without it the state lives in `<dataDir>/pgdata` (PGlite). */
  databaseUrl?: string | undefined;
  /** Where the agents' port listens (default every interface: workstations connect from the network). */
  host?: string;
  /** Agents' port (mutual TLS); 0 picks a free one. */
  port: number;
  /**
   * Where the web console listens: loopback (127.0.0.1) unless told otherwise, so the admin API is reachable from the
   * network only when someone chose that (`serve --admin-host`).
   */
  adminHost?: string;
  /** Web console port; 0 picks a free one. */
  adminPort: number;
  /** Extra names and addresses for the server certificate (what agents will type in the URL). */
  serverNames?: string[];
  /** Failed-login throttling of the web console; by default a fresh one with the default policy and the real clock. */
  loginThrottle?: LoginThrottle;
  /** Unexpected errors (never shown to clients), what agents' events made the console do and what its sandbox look-ups found; stderr by default. */
  log?: LogLine;
  /** Shorter waits for request bodies and headers than the routes' own (tests of slow clients). */
  bodyTimeoutMs?: number | undefined;
  headersTimeoutMs?: number | undefined;
  /** How often a process on a PostgreSQL server looks for a CA rotation made by another (default 10 s). */
  caWatchMs?: number | undefined;
  /** The console's configuration (`--config`): witnesses, its own sandbox, per-agent event limits. Default: defaults. */
  config?: LoadedConsoleConfig;
}

export interface RunningConsole {
  agentUrl: string;
  /** What workstations type in `sandgate enroll` (a name in the server certificate), recorded for `token create`. */
  enrollUrl: string;
  adminUrl: string;
  /** Where the web console listens (loopback unless `adminHost` said otherwise). */
  adminHost: string;
  ca: ConsoleCa;
  db: Db;
  notifier: ChangeNotifier;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function urlFor(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `https://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

/** 127.0.0.0/8, ::1 and `localhost`: a web console there is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host);
}

/** Opens the database, the CA, and the two HTTPS listeners plus the control socket. */
export async function startConsole(o: ConsoleOptions): Promise<RunningConsole> {
  ensurePrivateDir(o.dataDir);
  const unlock = lockDataDir(o.dataDir);
  const host = o.host ?? '0.0.0.0';
  const adminHost = o.adminHost ?? '127.0.0.1';
  const log = o.log ?? stderrLog;
  const closers: Array<() => Promise<void> | void> = [unlock];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const db = await openConsoleDb({ databaseUrl: o.databaseUrl, dataDir: o.dataDir });
    closers.push(() => db.close());
    const named = [host, adminHost].filter((h) => h !== '0.0.0.0' && h !== '::');
    const serverNames = [...new Set([...(o.serverNames ?? []), ...named])];
    completePromotion(o.dataDir);
    const ca = loadOrCreateCa(o.dataDir, serverNames);
    await checkSharedCa(db, ca, join(o.dataDir, 'ca'));
    const notifier = new ChangeNotifier();
    // Several processes on one PostgreSQL server: wake-ups made here reach the polls waiting on the others.
    const relay = await startWakeRelay(db, notifier, log);
    if (relay) closers.push(() => relay.close());
    const config = o.config?.config ?? consoleConfigSchema.parse({});
    const sandbox = o.config?.sandbox;
    const witness = sandbox ? new SandboxWitness({ db, sandbox, notifier, log }) : undefined;
    if (witness) {
      witness.start();
      closers.push(() => witness.close());
    }
    const tls = () => ({ cert: ca.server.certPem, key: ca.server.keyPem, minVersion: 'TLSv1.2' as const });
    // Agents: a client certificate is requested and verified against our CA, but not required by the handshake,
    // because enrollment happens before the agent has one. Every other agent route refuses without it.
    const slow = { ...(o.bodyTimeoutMs ? { bodyTimeoutMs: o.bodyTimeoutMs } : {}), log };
    // Slow clients: headers must arrive within 30 s and a whole request within 120 s (checked every 5 s); each route
    // also limits how long its body may take (shared/src/console/body-limits.ts). Long-polls wait after the request has
    // arrived, so neither limit cuts them.
    const limits = { headersTimeout: o.headersTimeoutMs ?? 30_000, requestTimeout: 120_000, connectionsCheckingInterval: 5_000 };
    const agentApi = agentApiHandler({
      db,
      ca,
      notifier,
      ...slow,
      witness: { agents: config.witness.agents, maxOpenPerSource: config.witness.maxOpenPerSource },
      eventLimit: new EventRateLimit(config.limits, {
        // Several processes share a PostgreSQL server: one bucket per workstation for all of them.
        shared: db.kind === 'postgres' ? db : undefined,
        onRefused: (id, why) => log(`events of agent ${id} refused: CONSOLE_AGENT_RATE_LIMITED: ${why}`),
      }),
      ...(witness ? { lookUp: () => witness.kick() } : {}),
    });
    // During a CA rotation client certificates of both CAs are accepted; a retired CA's are not (socket not authorized).
    const agentServer = createServer({ ...tls(), ...limits, ca: ca.trustPem, requestCert: true, rejectUnauthorized: false }, agentApi);
    agentServer.on('secureConnection', refuseRenegotiation);
    const adminServer = createServer(
      { ...tls(), ...limits },
      adminApiHandler({
        db,
        notifier,
        ...slow,
        sandboxConfigured: sandbox !== undefined,
        ca,
        ...(o.loginThrottle ? { loginThrottle: o.loginThrottle } : {}),
      }),
    );
    const agentPort = await listen(agentServer, o.port, host);
    closers.push(() => closeServer(agentServer));
    const adminPort = await listen(adminServer, o.adminPort, adminHost);
    closers.push(() => closeServer(adminServer));
    const enrollUrl = enrollAddress(host, agentPort, o.serverNames);
    await recordEnrollAddress(db, enrollUrl);
    /** After `ca rotate` or `ca retire`: the CA object in place, and new connections get the new TLS settings. */
    const reloadCa = () => {
      Object.assign(ca, loadOrCreateCa(o.dataDir, serverNames));
      agentServer.setSecureContext({ ...tls(), ca: ca.trustPem });
      adminServer.setSecureContext(tls());
      log(`console CA reloaded: in service ${ca.fingerprint}${ca.next ? `, new CA ${ca.next.fingerprint} (rotation under way)` : ''}`);
    };
    // Several processes on one PostgreSQL server: a rotation run in another one reaches this one (ca-watch.ts).
    if (db.kind === 'postgres') {
      const watch = watchCaSettings({
        db,
        dataDir: o.dataDir,
        current: () => ca,
        reload: reloadCa,
        log,
        ...(o.caWatchMs ? { everyMs: o.caWatchMs } : {}),
      });
      closers.push(() => watch.close());
    }
    const control = await listenControlSocket(o.dataDir, {
      db,
      dataDir: o.dataDir,
      onAgentChanged: (id) => notifier.wakeAgent(id),
      onCaChanged: reloadCa,
    });
    closers.push(() => closeServer(control));
    return {
      agentUrl: urlFor(host, agentPort),
      enrollUrl,
      adminUrl: urlFor(adminHost, adminPort),
      adminHost,
      ca,
      db,
      notifier,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function closeServer(s: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    // Waiting polls would hold close() for up to a minute.
    s.closeAllConnections();
  });
}
