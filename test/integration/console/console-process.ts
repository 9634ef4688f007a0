import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { REPO_ROOT, killAndWait, startStack, type CliResult, type Stack, type StackOptions } from '#test-helpers/stack.ts';

/** The `sandgate-console` entry `npx sandgate-console` resolves to. */
export const CONSOLE_CLI = join(REPO_ROOT, 'console/bin/sandgate-console.mjs');

export interface ConsoleInfo {
  agentUrl: string;
  adminUrl: string;
  caFingerprint: string;
  dataDir: string;
  database: string;
  pid: number;
}

export interface ConsoleProcess {
  info: ConsoleInfo;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Runs `sandgate-console ARGS…` to completion. */
export function runConsoleCli(args: string[], env: Record<string, string | undefined>, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONSOLE_CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** Starts `sandgate-console serve --json` on loopback and waits for the line saying where it listens. */
export function startConsoleProcess(args: string[], env: Record<string, string | undefined>): Promise<ConsoleProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONSOLE_CLI, 'serve', '--json', '--host', '127.0.0.1', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) {
        const info = JSON.parse(line) as ConsoleInfo;
        resolve({
          info,
          child,
          stderr: () => stderr,
          async stop() {
            if (child.pid) await killAndWait(child.pid);
          },
        });
      }
    });
    child.once('close', (code) => reject(new Error(`sandgate-console serve exited (${code}) before listening:\n${stderr}`)));
  });
}

export interface HttpAnswer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * One HTTPS call to the console pinned to its CA, optionally with a client certificate or a cookie, and from another
 * loopback address (`localAddress: '127.0.0.2'`: Linux routes all of 127/8 to this machine) to play another client.
 */
export function httpsJson(
  url: string,
  opts: {
    method?: string;
    ca: string;
    cert?: string;
    key?: string;
    body?: unknown;
    headers?: Record<string, string>;
    localAddress?: string;
  },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON (the page, the CA): kept as text
          }
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

/** A logged-in web-console session: the cookie and the CSRF header on every call. */
export async function loginAs(adminUrl: string, ca: string, name: string, password: string, from?: { localAddress: string }) {
  const r = await httpsJson(`${adminUrl}/api/login`, { method: 'POST', ca, body: { name, password }, ...from });
  if (r.status !== 200) throw new Error(`login as ${name} failed: ${JSON.stringify(r.body)}`);
  const cookie = String((r.headers['set-cookie'] as string[])[0]).split(';')[0]!;
  const csrf = r.body.csrfToken as string;
  return (method: string, path: string, body?: unknown) =>
    httpsJson(`${adminUrl}/api/${path}`, { method, ca, body, headers: { cookie, 'x-sandgate-csrf': csrf } });
}

// Assembled from pieces so no file of the suite is itself the test string.
export const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-', 'ANTIVIRUS-TEST-FILE!$H+H*'].join('');
export const EICAR_SHA256 = createHash('sha256').update(EICAR).digest('hex');
export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const POLICY_ADMIN_PASSWORD = 'policy-admin-password-for-tests';

/** A workstation of the console's tests: its own SANDGATE_HOME, lab and agent, enrolled, with a Downloads folder. */
export type Workstation = Stack & { agentId: string; downloads: string };

/**
 * A new workstation enrolled into `consoleProcess` with a fresh token (for `group`, or none), heartbeating and
 * retrying every second; its agent started unless `start` is false.
 */
export async function enrollWorkstation(o: {
  cli: (args: string[], stdin?: string) => Promise<CliResult>;
  consoleProcess: ConsoleProcess;
  group?: string | undefined;
  start?: boolean;
  /** Changes to the workstation's policy, e.g. another sandbox server. */
  sandbox?: StackOptions['sandbox'];
}): Promise<Workstation> {
  const s = await startStack({ startAgent: false, ...(o.sandbox ? { sandbox: o.sandbox } : {}) });
  s.env.SANDGATE_CONSOLE_HEARTBEAT_MS = '1000';
  s.env.SANDGATE_CONSOLE_RETRY_MAX_MS = '1000';
  const downloads = join(s.root, 'Downloads');
  mkdirSync(downloads, { recursive: true });
  const t = await o.cli(['token', 'create', '--json', ...(o.group ? ['--group', o.group] : [])]);
  if (t.code !== 0) throw new Error(`token create: ${t.stderr}`);
  const r = await s.sandgate([
    'enroll',
    o.consoleProcess.info.agentUrl,
    JSON.parse(t.stdout).token,
    '--ca-fingerprint',
    o.consoleProcess.info.caFingerprint,
    '--json',
  ]);
  if (r.code !== 0) throw new Error(`sandgate enroll: ${r.stderr}`);
  if (o.start !== false) await s.startAgent();
  return Object.assign(s, { agentId: JSON.parse(r.stdout).agentId as string, downloads });
}
