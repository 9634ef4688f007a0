import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import {
  policySchema,
  quarantineListItemSchema,
  statusResultSchema,
  type AgentEvent,
  type PolicyInput,
  type QuarantineListItem,
} from '@sandgate/shared';
import { EventLog } from '#native-host/events/event-log.ts';
import { startLab } from '#lab/lab-server.ts';
import { sandgatePaths, type SandgatePaths } from '#native-host/config/paths.ts';
import { isAlive } from './pid-alive.ts';
import { agentSocketPath } from '#native-host/ipc/socket-path.ts';

/**
 * The whole Sandgate stack on loopback for one test file or benchmark: a temp SANDGATE_HOME, sandgate-lab in-process on
 * port 0 with its own certificate, a policy pinning that certificate, the real `sandgate` CLI, and the agent service
 * (`sandgate serve`) either started here or left for the native-host bridge to start. `close()` stops every process it
 * knows of by pid, waits for each to exit, and removes the temp folders.
 */

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** The CLI entry `npx sandgate` resolves to (node_modules/.bin/sandgate links to it). */
export function sandgateCliPath(): string {
  const candidates = [join(REPO_ROOT, 'native-host/bin/sandgate.mjs'), join(REPO_ROOT, 'native-host/src/bin/sandgate.ts')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the sandgate CLI is not there yet (looked for ${candidates.join(', ')})`);
  return found;
}

/**
 * The environment every Sandgate process gets: SANDGATE_HOME, and the repository's node_modules/.bin first on PATH so
 * that a native host started by the browser with `#!/usr/bin/env node` runs the pinned node 22, not the system one.
 */
export function stackEnv(home: string, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  env.SANDGATE_HOME = home;
  env.PATH = [join(REPO_ROOT, 'node_modules/.bin'), base.PATH ?? ''].filter(Boolean).join(delimiter);
  delete env.SANDGATE_POLICY;
  return env;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs `sandgate ARGS…` with the pinned node and collects its output. Rejects only if it cannot be run at all. */
export function runSandgate(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [sandgateCliPath(), ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A generous cap that only matters when something hangs; it turns a hang into a readable failure.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export interface StackOptions {
  /** Start `sandgate serve` here (default). With false, the native-host bridge is expected to start it. */
  startAgent?: boolean;
  /** Changes to the generated policy, e.g. a larger `requestQueueMaxBytes`. */
  sandbox?: Partial<PolicyInput['sandbox']>;
  response?: PolicyInput['response'];
  /**
   * The policy's capture section; a test whose browser downloads things names its download folder here
   * (`downloadDirs`), as an administrator would. Without it the agent's defaults apply (the user's download folder).
   */
  capture?: PolicyInput['capture'];
  /** Where the agent service writes its stderr (default: kept in memory for failure messages). */
  agentStderr?: 'pipe' | 'inherit';
}

export interface LabHandle {
  url: string;
  certPath: string;
  /** The lab's client token; the stack's policy carries it as `servers[].token`. */
  token: string;
  dataDir: string;
}

export interface Stack {
  /** The temp folder holding everything; removed by close(). */
  root: string;
  home: string;
  paths: SandgatePaths;
  env: Record<string, string>;
  lab: LabHandle;
  policyPath: string;
  /** `sandgate ARGS…` with this stack's SANDGATE_HOME. */
  sandgate(args: string[], opts?: Omit<RunOptions, 'env'>): Promise<CliResult>;
  /** `sandgate install --browser chromium --profile-dir DIR`; throws with the CLI's stderr when it fails. */
  registerNativeHost(userDataDir: string): Promise<void>;
  /** Spawns `sandgate serve` and waits until its socket answers. */
  startAgent(): Promise<ChildProcess>;
  /** Stops the agent service (ours, or the one the bridge started) and waits for it to exit. */
  stopAgent(): Promise<void>;
  /** The agent service's pid as it reports it in `sandgate status --json`, or undefined when it is not running. */
  agentPid(): Promise<number | undefined>;
  /** The tail of what the agent service wrote (its stderr, or logs/agent.log when the bridge started it). */
  agentLog(): string;
  /** The agent's event log as `sandgate events` reads it (unparsable lines left out). */
  events(): AgentEvent[];
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const root = mkdtempSync(join(tmpdir(), 'sandgate-stack-'));
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const paths = sandgatePaths(home);
  const env = stackEnv(home);
  const labDir = join(root, 'lab');

  let lab: Awaited<ReturnType<typeof startLab>> | undefined;
  let agent: ChildProcess | undefined;
  let agentStderr = '';
  const knownPids = new Set<number>();

  const sandgate = (args: string[], o: Omit<RunOptions, 'env'> = {}): Promise<CliResult> => runSandgate(args, { ...o, env });

  const agentPid = async (): Promise<number | undefined> => {
    if (!existsSync(agentSocketPath(home))) return undefined;
    const r = await sandgate(['status', '--json'], { timeoutMs: 20_000 });
    if (r.code !== 0) return undefined;
    try {
      const parsed = statusResultSchema.safeParse(JSON.parse(r.stdout));
      if (parsed.success) {
        knownPids.add(parsed.data.pid);
        return parsed.data.pid;
      }
    } catch {
      // not JSON: treated as not running
    }
    return undefined;
  };

  const startAgent = async (): Promise<ChildProcess> => {
    agentStderr = '';
    const child = spawn(process.execPath, [sandgateCliPath(), 'serve'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'ignore', opts.agentStderr === 'inherit' ? 'inherit' : 'pipe'],
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      agentStderr = (agentStderr + d).slice(-20_000);
    });
    if (child.pid) knownPids.add(child.pid);
    agent = child;
    await waitForSocket(agentSocketPath(home), child, () => agentStderr);
    return child;
  };

  const stopAgent = async (): Promise<void> => {
    const reported = await agentPid().catch(() => undefined);
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      const hard = setTimeout(() => agent?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(hard);
    }
    agent = undefined;
    if (reported !== undefined) await killAndWait(reported);
  };

  const close = async (): Promise<void> => {
    try {
      await stopAgent().catch(() => undefined);
      // Anything else that ran with this SANDGATE_HOME (a bridge-started service, a stray host) is stopped by pid.
      for (const pid of new Set([...knownPids, ...pidsWithHome(home)])) await killAndWait(pid);
      await lab?.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };

  try {
    lab = await startLab({ port: 0, host: '127.0.0.1', dataDir: labDir });
    const policy: PolicyInput = {
      // Generous: on a 2-core CI machine running every tier at once a loopback TLS handshake can take longer than
      // the 500 ms default, and a lab judged down is skipped until a probe (failover is tested on its own).
      sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath, connectTimeoutMs: 3000, ...opts.sandbox },
      response: opts.response ?? { quarantine: true },
      ...(opts.capture ? { capture: opts.capture } : {}),
    };
    // Our own input, but parsing it here makes a bad override fail with the schema's message, not an agent error.
    policySchema.parse(policy);
    writeFileSync(paths.defaultPolicy, JSON.stringify(policy, null, 2), { mode: 0o600 });

    const stack: Stack = {
      root,
      home,
      paths,
      env,
      lab: { url: lab.url, certPath: lab.certPath, token: lab.token, dataDir: labDir },
      policyPath: paths.defaultPolicy,
      sandgate,
      async registerNativeHost(userDataDir) {
        const r = await sandgate(['install', '--browser', 'chromium', '--profile-dir', userDataDir]);
        if (r.code !== 0) throw new Error(`sandgate install failed (exit ${r.code}): ${r.stderr}`);
      },
      startAgent,
      stopAgent,
      agentPid,
      events: () => new EventLog(paths.events).read().events,
      agentLog: () => {
        // A service the bridge started writes to logs/agent.log instead of a pipe of ours.
        const file = join(paths.logs, 'agent.log');
        const fromFile = existsSync(file) ? readFileSync(file, 'utf8').slice(-20_000) : '';
        return [agentStderr, fromFile].filter(Boolean).join('\n');
      },
      close,
    };
    if (opts.startAgent !== false) await startAgent();
    return stack;
  } catch (err) {
    await close().catch(() => undefined);
    if (agentStderr) (err as Error).message += `\nagent stderr:\n${agentStderr}`;
    throw err;
  }
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
export async function killAndWait(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await sleep(50);
  }
}

/**
 * Sandgate processes (CLI, service, bridge) whose environment names this SANDGATE_HOME. The browser carries the same
 * variable, so anything whose command line is Chromium's is left to the browser helper.
 */
export function pidsWithHome(home: string): number[] {
  const needle = `SANDGATE_HOME=${home}\0`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (!environ.includes(needle)) continue;
      const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '';
      if (/chrom/i.test(argv0)) continue;
      out.push(pid);
    } catch {
      // gone already, or not ours to read
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForSocket(path: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sandgate serve exited early (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    if (existsSync(path) && (await canConnect(path))) return;
    if (Date.now() > deadline) throw new Error(`sandgate serve did not open ${path} within 30 s:\n${log()}`);
    await sleep(50);
  }
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((r) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      r(true);
    });
    s.once('error', () => r(false));
  });
}

/** Polls `fn` until it returns a value other than undefined; fails with `what` after the deadline (default 30 s). */
export async function pollFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await sleep(100);
  }
}

/** Whether sandgate-lab has an analysis for these bytes (`GET /api/v1/files/{sha256}`), asked over the pinned TLS with its token. */
export async function labKnows(lab: LabHandle, bytes: Buffer): Promise<boolean> {
  const sha = createHash('sha256').update(bytes).digest('hex');
  const status = await new Promise<number>((resolvePromise, reject) => {
    const req = httpsRequest(
      `${lab.url}/api/v1/files/${sha}`,
      { ca: readFileSync(lab.certPath), method: 'GET', headers: { authorization: `Bearer ${lab.token}` } },
      (res) => {
        res.resume();
        res.once('end', () => resolvePromise(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end();
  });
  if (status !== 200 && status !== 404) throw new Error(`sandgate-lab answered ${status} for a hash look-up`);
  return status === 200;
}

/** The agent's quarantine as `sandgate quarantine list --json` gives it. */
export async function quarantineList(stack: Pick<Stack, 'sandgate'>): Promise<QuarantineListItem[]> {
  const r = await stack.sandgate(['quarantine', 'list', '--json']);
  if (r.code !== 0) throw new Error(`quarantine list exited ${r.code}: ${r.stderr}`);
  return quarantineListItemSchema.array().parse(JSON.parse(r.stdout));
}
