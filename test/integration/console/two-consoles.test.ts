import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollFor, startStack, type Stack } from '#test-helpers/stack.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import type { Db } from '#console/db/db.ts';
import { csrFor, newAgentKey } from '#native-host/console/agent-csr.ts';
import { ADMIN_PASSWORD, EICAR, httpsJson, loginAs, runConsoleCli, startConsoleProcess, type ConsoleProcess } from './console-process.ts';

const pg = postgresAvailability();

/**
 * Two `sandgate-console serve` processes on one throw-away PostgreSQL server, as an administrator runs them: the
 * second one's data folder holds a copy of the first one's CA (what agents pin), nothing else.
 */
describe.skipIf(!pg.available)(`two console processes on one PostgreSQL server${pg.available ? '' : ` — SKIPPED: ${pg.reason}`}`, () => {
  let postgres: TempPostgres;
  let db: Db;
  let root: string;
  let env: Record<string, string | undefined>;
  const consoles: Record<'a' | 'b', ConsoleProcess> = {} as Record<'a' | 'b', ConsoleProcess>;
  const stacks: Stack[] = [];
  const extra: ConsoleProcess[] = [];
  let admin: Awaited<ReturnType<typeof loginAs>>;
  let ca: string;

  const dataOf = (name: string) => join(root, name);
  const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataOf('a')], env, stdin);
  const start = (name: string) => startConsoleProcess(['--data', dataOf(name), '--port', '0', '--admin-port', '0'], env);

  /** A workstation's identity enrolled through process A over the agents' protocol, with a key made here. */
  const enrollRaw = async (hostname: string) => {
    const t = await cli(['token', 'create', '--json', '--group', 'office']);
    expect(t.code, t.stderr).toBe(0);
    const key = newAgentKey();
    const body = {
      token: JSON.parse(t.stdout).token,
      csr: csrFor(key, hostname),
      host: { hostname, platform: 'linux', release: '6', arch: 'x64' },
      appVersion: '0.1.0',
    };
    const r = await httpsJson(`${consoles.a.info.agentUrl}/agent/v1/enroll`, { method: 'POST', ca, body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const id = { agentId: r.body.agentId as string, cert: r.body.certificate as string, key };
    const call = (url: string, method: string, path: string, payload?: unknown) =>
      httpsJson(`${url}/agent/v1/${path}`, { method, ca, cert: id.cert, key: id.key, body: payload });
    const hb = {
      agentId: id.agentId,
      appVersion: '0.1.0',
      host: body.host,
      startedAt: new Date().toISOString(),
      heartbeatMs: 60_000,
      queue: { objects: 0, bytes: 0, limitBytes: 1 },
      servers: [],
      policyRevision: 0,
      eventBacklog: 0,
    };
    return { ...id, call, heartbeat: (url: string) => call(url, 'POST', 'heartbeat', hb) };
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sandgate-two-consoles-'));
    postgres = startTempPostgres();
    env = { DATABASE_URL: postgres.createDatabase('console_two'), SANDGATE_CONSOLE_DATA: undefined };
    db = await openPostgresDb(env.DATABASE_URL!);
    consoles.a = await start('a');
    mkdirSync(join(dataOf('b'), 'ca'), { recursive: true, mode: 0o700 });
    for (const f of ['ca-cert.pem', 'ca-key.pem']) copyFileSync(join(dataOf('a'), 'ca', f), join(dataOf('b'), 'ca', f));
    consoles.b = await start('b');
    ca = readFileSync(join(dataOf('a'), 'ca', 'ca-cert.pem'), 'utf8');
    expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
    // Logged in through B: users and sessions are in the database, not in the process that made them.
    admin = await loginAs(consoles.b.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
    // `office` for the workstations played here over the protocol, `floor` for real agents (a task finishes only
    // when every member's share has).
    for (const group of ['office', 'floor']) {
      expect((await cli(['token', 'create', '--json', '--group', group])).code).toBe(0);
      const id = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === group).id;
      const set = await admin('PUT', `groups/${id}/actions`, {
        groupActions: { onThreat: { scan: true, quarantineOnMatch: true, dryRun: true, scope: ['~/Downloads'] }, taskExpiresHours: 1 },
      });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
    }
  }, 120_000);

  afterAll(async () => {
    for (const s of stacks) await s.close();
    for (const c of [...Object.values(consoles), ...extra]) await c?.stop();
    await db?.close();
    postgres?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a third process whose data folder has a CA of its own refuses to start, naming the CA to copy', async () => {
    // Run to completion: a process that started would keep running, and the test would fail on its time-out.
    const r = await runConsoleCli(['serve', '--data', dataOf('c'), '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('CONSOLE_CONFIG_INVALID');
    expect(r.stderr).toContain(`copy ca-cert.pem and ca-key.pem from the first console's <data>/ca/ into ${join(dataOf('c'), 'ca')}`);
  }, 60_000);

  it('a group task made through process A reaches a workstation whose long-poll waits on process B, in that same poll', async () => {
    const reporter = await enrollRaw('ws-reporter');
    const member = await enrollRaw('ws-member');
    expect((await reporter.heartbeat(consoles.a.info.agentUrl)).status).toBe(200);
    expect((await member.heartbeat(consoles.b.info.agentUrl)).status).toBe(200);
    const first = await member.call(consoles.b.info.agentUrl, 'GET', 'poll?policyRevision=0&waitMs=0');
    expect(first.status).toBe(200);
    const revision = (first.body.policy?.revision as number | undefined) ?? 0;

    // The member waits on B (up to 55 s, longer than this test may take).
    const waiting = member.call(consoles.b.info.agentUrl, 'GET', `poll?policyRevision=${revision}&waitMs=55000`);
    // Give the poll time to reach its wait; if it had not, it would find the task at once and prove nothing, but
    // it could not pass wrongly either way: without a wake-up from A the poll answers empty after 55 s.
    await new Promise((r) => setTimeout(r, 1500));
    const sha256 = randomBytes(32).toString('hex');
    const event = {
      time: new Date().toISOString(),
      type: 'verdict',
      level: 'malicious',
      sha256,
      path: '/home/u/Downloads/x.exe',
      threat: 'Test-Threat',
    };
    const sent = await reporter.call(consoles.a.info.agentUrl, 'POST', 'events', { events: [{ seq: 0, event }] });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);

    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body.tasks).toEqual([expect.objectContaining({ type: 'ioc-scan', sha256, dryRun: true })]);
  }, 60_000);

  /** A real `sandgate serve`, enrolled through A, whose policy names both processes (A first). */
  const workstation = async (): Promise<Stack & { agentId: string; downloads: string }> => {
    const s = await startStack({ startAgent: false });
    stacks.push(s);
    s.env.SANDGATE_CONSOLE_HEARTBEAT_MS = '1000';
    s.env.SANDGATE_CONSOLE_RETRY_MAX_MS = '1000';
    s.env.HOME = join(s.root, 'user');
    const downloads = join(s.env.HOME, 'Downloads');
    mkdirSync(downloads, { recursive: true });
    const t = await cli(['token', 'create', '--json', '--group', 'floor']);
    const r = await s.sandgate([
      'enroll',
      consoles.a.info.agentUrl,
      JSON.parse(t.stdout).token,
      '--ca-fingerprint',
      consoles.a.info.caFingerprint,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const policy = JSON.parse(readFileSync(s.policyPath, 'utf8'));
    writeFileSync(s.policyPath, JSON.stringify({ ...policy, console: { urls: [consoles.a.info.agentUrl, consoles.b.info.agentUrl] } }));
    await s.startAgent();
    return Object.assign(s, { agentId: JSON.parse(r.stdout).agentId as string, downloads });
  };

  it('process A killed as the task fans out: its workstations finish on B, each share done once, every event stored once', async () => {
    const ws = await Promise.all([workstation(), workstation(), workstation(), workstation()]);
    for (const w of ws.slice(1)) writeFileSync(join(w.downloads, 'eicar.com'), EICAR);
    // Every workstation's channel is up (on A, its first URL) before the threat.
    await pollFor(
      'every workstation heartbeating',
      async () => {
        const rows = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM agents WHERE id = ANY($1) AND last_seen_at > now() - interval '5 seconds'`,
          [ws.map((w) => w.agentId)],
        );
        return rows[0]!.n === ws.length || undefined;
      },
      60_000,
    );

    const dl = join(ws[0]!.root, 'caught.com');
    writeFileSync(dl, EICAR);
    expect((await ws[0]!.sandgate(['submit', dl, '--wait', '--json'])).code).toBe(1);
    const taskId = await pollFor(
      'the group task',
      async () => (await db.query<{ id: string }>(`SELECT id FROM group_tasks WHERE file_name = 'caught.com'`))[0]?.id,
      60_000,
    );
    // Mid-fan-out: the task exists, its shares are being delivered and reported through A.
    process.kill(consoles.a.child.pid!, 'SIGKILL');

    const task = await pollFor(
      'the task finished on B',
      async () => {
        const { body } = await admin('GET', `tasks/${taskId}`);
        return body.task.state === 'finished' ? body.task : undefined;
      },
      90_000,
    ).catch(async (err: Error) => {
      const { body } = await admin('GET', `tasks/${taskId}`);
      throw new Error(
        `${err.message}: ${JSON.stringify(body.task?.shares)}; B: ${consoles.b.stderr().slice(-1500)}; agent: ${ws[1]!.agentLog().slice(-2000)}`,
      );
    });
    expect(task.shares).toHaveLength(3);
    for (const s of task.shares as Array<{ agentId: string; state: string; matches: Array<{ path: string; action: string }> }>) {
      const w = ws.find((x) => x.agentId === s.agentId)!;
      // Found once, not twice: one match, from the one local task the share became.
      expect(s.state).toBe('matched');
      expect(s.matches).toEqual([expect.objectContaining({ path: join(w.downloads, 'eicar.com') })]);
      const remembered = JSON.parse(readFileSync(join(w.home, 'console', 'group-tasks.json'), 'utf8')).tasks;
      expect(Object.keys(remembered)).toHaveLength(1);
      expect(existsSync(join(w.downloads, 'eicar.com'))).toBe(true);
    }
    // Every line of every workstation's event log reaches the console once (the primary key is (agent, seq)).
    for (const w of ws) {
      await pollFor(
        `${w.agentId}'s events all stored`,
        async () => {
          const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_events WHERE agent_id = $1', [w.agentId]);
          return rows[0]!.n === w.events().length || undefined;
        },
        30_000,
      );
    }
  }, 240_000);

  it('wrong passwords tried through one process lock the name on another: the counters are in the database', async () => {
    // A was killed above: B and a new process D (with the CA copied) share the database.
    mkdirSync(join(dataOf('d'), 'ca'), { recursive: true, mode: 0o700 });
    for (const f of ['ca-cert.pem', 'ca-key.pem']) copyFileSync(join(dataOf('a'), 'ca', f), join(dataOf('d'), 'ca', f));
    const d = await start('d');
    extra.push(d);
    expect(
      (
        await runConsoleCli(
          ['user', 'add', 'vera', '--role', 'viewer', '--password-stdin', '--data', dataOf('b')],
          env,
          'vera-right-password\n',
        )
      ).code,
    ).toBe(0);
    for (let i = 0; i < 5; i++) {
      const r = await httpsJson(`${consoles.b.info.adminUrl}/api/login`, {
        method: 'POST',
        ca,
        body: { name: 'vera', password: `wrong-${i}` },
      });
      expect(r.status).toBe(401);
    }
    const onOther = await httpsJson(`${d.info.adminUrl}/api/login`, {
      method: 'POST',
      ca,
      body: { name: 'vera', password: 'vera-right-password' },
    });
    expect(onOther.status).toBe(429);
    expect(onOther.body.error.code).toBe('CONSOLE_LOGIN_THROTTLED');
  }, 60_000);
});
