import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollFor, startStack, type Stack } from '#test-helpers/stack.ts';
import { makeCa, makeLeaf } from '#test-helpers/pki.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';
import { httpsJson, loginAs, runConsoleCli, startConsoleProcess, type ConsoleProcess } from './console-process.ts';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const ADMIN_PASSWORD = 'admin-password-for-tests';
const VIEWER_PASSWORD = 'viewer-password-for-tests';
const pg = postgresAvailability();

// The same scenarios against both databases the console supports. Without a PostgreSQL server the second block is
// skipped by name, with the reason in its title.
const databases = [
  { name: 'embedded PostgreSQL (PGlite)', server: false },
  { name: pg.available ? 'a real PostgreSQL server' : `a real PostgreSQL server — SKIPPED: ${pg.reason}`, server: true },
];

for (const database of databases) {
  describe.skipIf(database.server && !pg.available)(`console with ${database.name}`, () => {
    let postgres: TempPostgres | undefined;
    let dataDir: string;
    let env: Record<string, string | undefined>;
    let console_: ConsoleProcess;
    let ca: string;
    const stacks: Stack[] = [];
    let agentPort = 0;
    let adminPort = 0;

    const startConsole = async () => {
      console_ = await startConsoleProcess(['--data', dataDir, '--port', String(agentPort), '--admin-port', String(adminPort)], env);
      agentPort = Number(new URL(console_.info.agentUrl).port);
      adminPort = Number(new URL(console_.info.adminUrl).port);
    };
    const cli = async (args: string[], stdin?: string) => {
      const r = await runConsoleCli([...args, '--data', dataDir], env, stdin);
      return r;
    };
    const token = async (group?: string): Promise<string> => {
      const r = await cli(['token', 'create', '--json', ...(group ? ['--group', group] : [])]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).token;
    };
    /** A workstation: its own SANDGATE_HOME, enrolled, then `sandgate serve` with short console timings. */
    const workstation = async (group: string): Promise<Stack & { agentId: string }> => {
      const s = await startStack({ startAgent: false });
      stacks.push(s);
      s.env.SANDGATE_CONSOLE_HEARTBEAT_MS = '1000';
      s.env.SANDGATE_CONSOLE_RETRY_MAX_MS = '1000';
      const r = await s.sandgate([
        'enroll',
        console_.info.agentUrl,
        await token(group),
        '--ca-fingerprint',
        console_.info.caFingerprint,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      await s.startAgent();
      return Object.assign(s, { agentId: JSON.parse(r.stdout).agentId as string });
    };

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-'));
      env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
      if (database.server) {
        postgres = startTempPostgres();
        env.DATABASE_URL = postgres.createDatabase('console_it');
      }
      await startConsole();
      ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
      expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
      expect((await cli(['user', 'add', 'viewer', '--role', 'viewer', '--password-stdin'], VIEWER_PASSWORD + '\n')).code).toBe(0);
    });

    afterAll(async () => {
      for (const s of stacks) await s.close();
      await console_?.stop();
      postgres?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it(`runs on ${database.server ? 'the server named by DATABASE_URL' : 'its embedded database'}, keeping its CA private`, () => {
      expect(console_.info.database).toBe(database.server ? 'postgres' : 'pglite');
      expect(statSync(join(dataDir, 'ca', 'ca-key.pem')).mode & 0o777).toBe(0o600);
      expect(statSync(join(dataDir, 'ca')).mode & 0o777).toBe(0o700);
    });

    it('a one-time token enrolls one workstation and is refused the second time', async () => {
      const t = await token('office');
      const a = await startStack({ startAgent: false });
      const b = await startStack({ startAgent: false });
      stacks.push(a, b);
      const first = await a.sandgate(['enroll', console_.info.agentUrl, t, '--ca-fingerprint', console_.info.caFingerprint]);
      expect(first.code, first.stderr).toBe(0);
      expect(statSync(join(a.home, 'console')).mode & 0o777).toBe(0o700);
      expect(statSync(join(a.home, 'console', 'agent-key.pem')).mode & 0o777).toBe(0o600);
      const second = await b.sandgate(['enroll', console_.info.agentUrl, t]);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/^error\[CONSOLE_TOKEN_INVALID\]/);
    });

    it('a wrong CA fingerprint stops enrollment before the token is sent', async () => {
      const t = await token();
      const a = await startStack({ startAgent: false });
      stacks.push(a);
      const r = await a.sandgate(['enroll', console_.info.agentUrl, t, '--ca-fingerprint', '00'.repeat(32)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error\[CONSOLE_CA_MISMATCH\]/);
      // The token is still unused: it was never sent.
      const again = await a.sandgate(['enroll', console_.info.agentUrl, t, '--ca-fingerprint', console_.info.caFingerprint]);
      expect(again.code, again.stderr).toBe(0);
    });

    it('the agent API refuses callers without a client certificate from the console CA', async () => {
      const none = await httpsJson(`${console_.info.agentUrl}/agent/v1/heartbeat`, { method: 'POST', ca, body: {} });
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('CONSOLE_CLIENT_CERT_REQUIRED');
      const foreignCa = makeCa('Someone Else CA');
      const foreign = makeLeaf(foreignCa, { client: true, commonName: '00000000-0000-4000-8000-000000000000' });
      const other = await httpsJson(`${console_.info.agentUrl}/agent/v1/poll`, { ca, cert: foreign.cert, key: foreign.key });
      expect(other.status).toBe(401);
      expect(other.body.error.code).toBe('CONSOLE_CLIENT_CERT_REQUIRED');
    });

    it('several workstations report heartbeats and events; one offline for a while delivers its backlog exactly once', async () => {
      const ws = await Promise.all([workstation('office'), workstation('office'), workstation('lab')]);
      const admin = await loginAs(console_.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
      await pollFor('three workstations online with their service-started event', async () => {
        const { body } = await admin('GET', 'agents');
        const online = body.agents.filter((a: { id: string; online: boolean }) => ws.some((w) => w.agentId === a.id) && a.online);
        if (online.length !== 3) return undefined;
        for (const w of ws) {
          const ev = await admin('GET', `agents/${w.agentId}/events`);
          if (!ev.body.events.some((e: { type: string }) => e.type === 'service-started')) return undefined;
        }
        return true;
      });
      const seen = (await admin('GET', 'agents')).body.agents.find((a: { id: string }) => a.id === ws[0]!.agentId);
      expect(seen.status.queue).toMatchObject({ objects: expect.any(Number), limitBytes: expect.any(Number) });
      expect(seen.status.servers[0].url).toBe(ws[0]!.lab.url);

      // The console goes away; the workstation catches EICAR meanwhile and keeps the events in its log.
      await console_.stop();
      const dl = join(ws[0]!.root, 'eicar.com');
      writeFileSync(dl, EICAR);
      const submitted = await ws[0]!.sandgate(['submit', dl, '--wait', '--json']);
      expect(submitted.code, submitted.stderr).toBe(1);
      await startConsole();

      const local = ws[0]!.events();
      expect(local.map((e) => e.type)).toContain('quarantined');
      const stored = await pollFor('the backlog at the console', async () => {
        const { body } = await admin('GET', `agents/${ws[0]!.agentId}/events?limit=1000`);
        return body.events.length >= local.length ? body.events : undefined;
      });
      // Exactly once: every local event, none twice, in log order.
      expect(stored.length).toBe(local.length);
      const bySeq = [...stored].sort((x: { seq: number }, y: { seq: number }) => x.seq - y.seq);
      expect(bySeq.map((e: { type: string }) => e.type)).toEqual(local.map((e) => e.type));
      expect(bySeq.find((e: { type: string }) => e.type === 'quarantined').event.threat).toMatch(/EICAR/);
    });

    it('a group policy change reaches the workstation and is applied; a viewer is refused; both are audited', async () => {
      const w = await workstation('managed');
      const admin = await loginAs(console_.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
      const viewer = await loginAs(console_.info.adminUrl, ca, 'viewer', VIEWER_PASSWORD);
      const group = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'managed');
      const local = JSON.parse(readFileSync(w.policyPath, 'utf8'));
      const policy = { ...local, sandbox: { ...local.sandbox, connectTimeoutMs: 750 } };

      const refused = await viewer('PUT', `groups/${group.id}/policy`, { policy });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('CONSOLE_FORBIDDEN');
      const invalid = await admin('PUT', `groups/${group.id}/policy`, {
        policy: { ...policy, sandbox: { ...policy.sandbox, connectTimeoutMs: 'soon' } },
      });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.code).toBe('POLICY_INVALID');
      const ok = await admin('PUT', `groups/${group.id}/policy`, { policy });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);

      await pollFor('the agent running with connectTimeoutMs 750', async () => {
        const r = await w.sandgate(['policy', 'show', '--json']);
        return r.code === 0 && JSON.parse(r.stdout).policy.sandbox.connectTimeoutMs === 750 ? true : undefined;
      });
      await pollFor('policy-reloaded in the agent log', () => (w.events().some((e) => e.type === 'policy-reloaded') ? true : undefined));

      const audit = (await admin('GET', 'audit')).body.entries as Array<{
        actor: string;
        action: string;
        outcome: string;
        details: { code?: string };
      }>;
      expect(audit).toContainEqual(expect.objectContaining({ actor: 'user:viewer', action: 'group.set-policy', outcome: 'refused' }));
      expect(audit).toContainEqual(expect.objectContaining({ actor: 'user:admin', action: 'group.set-policy', outcome: 'ok' }));
      expect(audit).toContainEqual(expect.objectContaining({ actor: 'user:admin', action: 'group.set-policy', outcome: 'failed' }));
    });

    it('a mutating call without the CSRF header is refused', async () => {
      const page = await httpsJson(`${console_.info.adminUrl}/`, { ca });
      expect(page.status).toBe(200);
      expect(String(page.body)).toContain('<title>Sandgate console</title>');
      expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
      const login = await httpsJson(`${console_.info.adminUrl}/api/login`, {
        method: 'POST',
        ca,
        body: { name: 'admin', password: ADMIN_PASSWORD },
      });
      expect(String(login.headers['set-cookie'])).toMatch(/HttpOnly; Secure; SameSite=Strict/);
      const cookie = String((login.headers['set-cookie'] as string[])[0]).split(';')[0]!;
      const r = await httpsJson(`${console_.info.adminUrl}/api/groups`, {
        method: 'POST',
        ca,
        body: { name: 'csrf' },
        headers: { cookie },
      });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('CONSOLE_CSRF_REJECTED');
      const bad = await httpsJson(`${console_.info.adminUrl}/api/login`, {
        method: 'POST',
        ca,
        body: { name: 'admin', password: 'wrong password!' },
      });
      expect(bad.body.error.code).toBe('CONSOLE_LOGIN_FAILED');
    });

    it('a revoked workstation is refused with AGENT_REVOKED', async () => {
      const w = await workstation('office');
      const creds = {
        cert: readFileSync(join(w.home, 'console', 'agent-cert.pem'), 'utf8'),
        key: readFileSync(join(w.home, 'console', 'agent-key.pem'), 'utf8'),
      };
      const before = await httpsJson(`${console_.info.agentUrl}/agent/v1/poll?waitMs=0`, { ca, ...creds });
      expect(before.status, JSON.stringify(before.body)).toBe(200);
      const r = await cli(['agent', 'revoke', w.agentId]);
      expect(r.code, r.stderr).toBe(0);
      const after = await httpsJson(`${console_.info.agentUrl}/agent/v1/poll?waitMs=0`, { ca, ...creds });
      expect(after.status).toBe(403);
      expect(after.body.error.code).toBe('AGENT_REVOKED');
      await pollFor('the agent to stop its console channel', () =>
        /the console refused this agent/.test(w.agentLog()) ? true : undefined,
      );
    });
  });
}
