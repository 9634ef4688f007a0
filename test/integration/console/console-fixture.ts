import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { csrFor, newAgentKey } from '#native-host/console/agent-csr.ts';
import { httpsJson, runConsoleCli, startConsoleProcess, type ConsoleProcess } from './console-process.ts';

export const PASSWORDS = {
  admin: 'admin-password-for-tests',
  'policy-admin': 'policy-admin-password-for-tests',
  'ioc-operator': 'ioc-operator-password-for-tests',
  viewer: 'viewer-password-for-tests',
} as const;
export type RoleName = keyof typeof PASSWORDS;

/** A group policy with every kind of secret `policySchema` holds: two servers' API tokens and a key passphrase. */
export const SECRET_POLICY = (() => {
  const values = {
    CAPE_TOKEN: 'cape-token-6f1d0c3a9b',
    CUCKOO_TOKEN: 'cuckoo-token-41e7aa02',
    PASSPHRASE: 'pfx-passphrase-9c2e',
    CAPE: 'https://cape.corp.example:8443',
    CUCKOO: 'https://cuckoo.corp.example',
  };
  const document = {
    sandbox: {
      servers: [
        { url: values.CAPE, kind: 'cape', token: values.CAPE_TOKEN },
        { url: values.CUCKOO, kind: 'cuckoo', token: values.CUCKOO_TOKEN },
      ],
      serverCertificate: '/etc/sandgate/sandbox-ca.pem',
      clientCertificate: { pfx: '/etc/sandgate/client.p12', passphrase: values.PASSPHRASE },
    },
  };
  return { ...values, document };
})();

export interface ConsoleWithRoles {
  process: ConsoleProcess;
  dataDir: string;
  /** The console CA (PEM): every client here pins it. */
  ca: string;
  adminUrl: string;
  agentUrl: string;
  cli(args: string[], stdin?: string): ReturnType<typeof runConsoleCli>;
  /** A workstation enrolled over HTTP with a key made here: its client certificate and key. */
  enrollAgent(group?: string): Promise<{ agentId: string; cert: string; key: string }>;
  stop(): Promise<void>;
}

/**
 * A real `sandgate-console serve` process (PGlite, loopback) with one user per role (named after the role, unless
 * `users` is false): the console the security tests attack and the integration tests use. `args` and `env` are added to its command line and environment.
 */
export async function startConsoleWithRoles(
  o: { args?: string[]; env?: Record<string, string>; users?: boolean } = {},
): Promise<ConsoleWithRoles> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-roles-'));
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined, ...o.env };
  const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);
  const process = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0', ...(o.args ?? [])], env);
  try {
    for (const [role, password] of o.users === false ? [] : Object.entries(PASSWORDS)) {
      const r = await cli(['user', 'add', role, '--role', role, '--password-stdin'], `${password}\n`);
      if (r.code !== 0) throw new Error(`user add ${role}: ${r.stderr}`);
    }
  } catch (err) {
    await process.stop();
    throw err;
  }
  const ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
  return {
    process,
    dataDir,
    ca,
    adminUrl: process.info.adminUrl,
    agentUrl: process.info.agentUrl,
    cli,
    async enrollAgent(group) {
      const t = await cli(['token', 'create', '--json', ...(group ? ['--group', group] : [])]);
      if (t.code !== 0) throw new Error(`token create: ${t.stderr}`);
      const key = newAgentKey();
      const body = {
        token: JSON.parse(t.stdout).token,
        csr: csrFor(key, 'fixture'),
        host: { hostname: 'ws-1', platform: 'linux', release: '6', arch: 'x64' },
        appVersion: '0.1.0',
      };
      const r = await httpsJson(`${process.info.agentUrl}/agent/v1/enroll`, { method: 'POST', ca, body });
      if (r.status !== 200) throw new Error(`enroll: ${JSON.stringify(r.body)}`);
      return { agentId: r.body.agentId as string, cert: r.body.certificate as string, key };
    },
    async stop() {
      await process.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What a raw connection saw: the bytes the server sent, and whether it closed the connection. */
export interface RawExchange {
  text: string;
  status: number;
  closedByServer: boolean;
}

/**
 * A TLS connection that writes `head` (request line and headers) and then `body` bytes as given, and never more:
 * a client that announced a body it does not send. Resolves when the server closes the connection, or with
 * `closedByServer: false` if it is still open `waitMs` after the last byte sent (a guard, so that a server that keeps
 * waiting fails the test instead of hanging it; no assertion is about how long anything took).
 */
export function rawExchange(
  url: string,
  ca: string,
  head: string,
  body: Buffer | string = '',
  o: { waitMs?: number; cert?: string; key?: string } = {},
): Promise<RawExchange> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let text = '';
    let guard: NodeJS.Timeout | undefined;
    const socket: TLSSocket = connect(
      { host: u.hostname, port: Number(u.port), ca, servername: 'localhost', ...(o.cert ? { cert: o.cert, key: o.key } : {}) },
      () => {
        socket.write(head);
        if (body.length) socket.write(body);
        guard = setTimeout(() => {
          socket.destroy();
          resolve({ text, status: statusOf(text), closedByServer: false });
        }, o.waitMs ?? 15_000);
      },
    );
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    socket.once('close', () => {
      clearTimeout(guard);
      resolve({ text, status: statusOf(text), closedByServer: true });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // A reset after the answer is still the server closing; before any answer it is a failure of the test set-up.
      if (!text) reject(err);
    });
  });
}

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

/** The JSON body of a raw HTTP/1.1 answer (Content-Length or chunked framing). */
export function jsonOf(text: string): any {
  const at = text.indexOf('\r\n\r\n');
  let body = text.slice(at + 4);
  if (/^transfer-encoding: chunked$/im.test(text.slice(0, at))) {
    let out = '';
    for (;;) {
      const eol = body.indexOf('\r\n');
      const size = parseInt(body.slice(0, eol), 16);
      if (!size) break;
      out += body.slice(eol + 2, eol + 2 + size);
      body = body.slice(eol + 2 + size + 2);
    }
    body = out;
  }
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
