import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollFor, startStack, type Stack } from '#test-helpers/stack.ts';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';
import { loginAs, runConsoleCli, startConsoleProcess, type ConsoleProcess } from './console-process.ts';

// Assembled from pieces so this file is not itself the test string.
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-', 'ANTIVIRUS-TEST-FILE!$H+H*'].join('');
// The standard allows trailing whitespace: another object (another SHA-256 and size) that the lab still calls EICAR.
const EICAR_VARIANT = EICAR + '\r\n';
const ADMIN_PASSWORD = 'admin-password-for-tests';
const POLICY_ADMIN_PASSWORD = 'policy-admin-password-for-tests';
const pg = postgresAvailability();

const databases = [
  { name: 'embedded PostgreSQL (PGlite)', server: false },
  { name: pg.available ? 'a real PostgreSQL server' : `a real PostgreSQL server — SKIPPED: ${pg.reason}`, server: true },
];

type Admin = Awaited<ReturnType<typeof loginAs>>;
interface Share {
  hostname: string;
  agentId: string;
  state: string;
  storedState: string;
  matches: Array<{ path: string; action: string }>;
}
type Workstation = Stack & { agentId: string; downloads: string };

for (const database of databases) {
  describe.skipIf(database.server && !pg.available)(`group actions with ${database.name}`, () => {
    let postgres: TempPostgres | undefined;
    let dataDir: string;
    let env: Record<string, string | undefined>;
    let console_: ConsoleProcess;
    let admin: Admin;
    let policyAdmin: Admin;
    let groupId: number;
    // The sandgate-lab the first workstation submits to, which the console also looks hashes up on: its own second
    // witness for a group quarantine (issue 14).
    let lab: RunningLab;
    const stacks: Stack[] = [];
    // ws[0] catches the threats; ws[1] and ws[2] are online members; ws[3] is offline when the first task is made.
    const ws: Workstation[] = [];

    const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);

    /** A workstation enrolled in `office`, with its own SANDGATE_HOME and its own home folder (what `~/` means there). */
    const workstation = async (start: boolean, ownLab = true): Promise<Workstation> => {
      const s = await startStack({
        startAgent: false,
        ...(ownLab ? {} : { sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath } }),
      });
      stacks.push(s);
      s.env.SANDGATE_CONSOLE_HEARTBEAT_MS = '1000';
      s.env.SANDGATE_CONSOLE_RETRY_MAX_MS = '1000';
      s.env.HOME = join(s.root, 'user');
      const downloads = join(s.env.HOME, 'Downloads');
      mkdirSync(downloads, { recursive: true });
      const t = await cli(['token', 'create', '--json', '--group', 'office']);
      expect(t.code, t.stderr).toBe(0);
      const r = await s.sandgate([
        'enroll',
        console_.info.agentUrl,
        JSON.parse(t.stdout).token,
        '--ca-fingerprint',
        console_.info.caFingerprint,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      if (start) await s.startAgent();
      return Object.assign(s, { agentId: JSON.parse(r.stdout).agentId as string, downloads });
    };

    const plant = (w: Workstation, rel: string, content: string): string => {
      const p = join(w.downloads, rel);
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, content);
      return p;
    };

    /** The first workstation downloads the object; its sandbox says malicious and it quarantines it locally. */
    const catchOnFirst = async (name: string, content: string) => {
      const dl = join(ws[0]!.root, name);
      writeFileSync(dl, content);
      const r = await ws[0]!.sandgate(['submit', dl, '--wait', '--json']);
      expect(r.code, r.stderr).toBe(1);
      expect(existsSync(dl)).toBe(false);
    };

    /** The group task made for the object the first workstation caught under this name. */
    const taskFor = (fileName: string) =>
      pollFor(`the group task for ${fileName}`, async () => {
        const { body } = await admin('GET', 'tasks');
        return (body.tasks as Array<{ id: string; file_name: string }>).find((t) => t.file_name === fileName)?.id;
      });

    const shares = async (taskId: string): Promise<Record<string, Share>> => {
      const { body } = await admin('GET', `tasks/${taskId}`);
      return Object.fromEntries((body.task.shares as Share[]).map((s) => [s.agentId, s]));
    };

    /** The share once in one of `states`; a time-out says where it was and what the task waited for. */
    const waitForShare = async (taskId: string, w: Workstation, states: string[], timeoutMs = 30_000): Promise<Share> => {
      let last: unknown;
      try {
        return await pollFor(
          `${w.agentId} ${states.join('/')}`,
          async () => {
            const { body } = await admin('GET', `tasks/${taskId}`);
            const s = (body.task.shares as Share[]).find((x) => x.agentId === w.agentId);
            last = { share: s, witness: body.task.witness };
            return s && states.includes(s.state) ? s : undefined;
          },
          timeoutMs,
        );
      } catch (err) {
        throw new Error(
          `${(err as Error).message}; last seen ${JSON.stringify(last)}; console: ${console_.stderr().slice(-1500)}; agent: ${w.agentLog().slice(-1500)}`,
        );
      }
    };

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-ga-'));
      env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
      if (database.server) {
        postgres = startTempPostgres();
        env.DATABASE_URL = postgres.createDatabase('console_ga');
      }
      lab = await startLab({ port: 0, host: '127.0.0.1', dataDir: join(dataDir, 'lab') });
      const config = join(dataDir, 'console.json');
      writeFileSync(
        config,
        JSON.stringify({
          witness: { sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath, retryEveryMs: 1000 } },
        }),
        { mode: 0o600 },
      );
      console_ = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0', '--config', config], env);
      const ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
      expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
      expect((await cli(['user', 'add', 'pat', '--role', 'policy-admin', '--password-stdin'], POLICY_ADMIN_PASSWORD + '\n')).code).toBe(0);
      admin = await loginAs(console_.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
      policyAdmin = await loginAs(console_.info.adminUrl, ca, 'pat', POLICY_ADMIN_PASSWORD);
      ws.push(...(await Promise.all([workstation(true, false), workstation(true), workstation(true), workstation(false)])));
      groupId = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'office').id;
    }, 90_000);

    afterAll(async () => {
      for (const s of stacks) await s.close();
      await console_?.stop();
      await lab?.close();
      postgres?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const groupActions = (onThreat: Record<string, unknown>) => ({
      onThreat: {
        scan: true,
        quarantineOnMatch: true,
        scope: ['~/Downloads'],
        neverQuarantine: { paths: ['~/Downloads/keep/'] },
        ...onThreat,
      },
      taskExpiresHours: 1,
    });

    it('a user without the IOC-task permission cannot set group actions, by either route; the refusals are audited', async () => {
      const direct = await policyAdmin('PUT', `groups/${groupId}/actions`, { groupActions: groupActions({}) });
      expect(direct.status).toBe(403);
      expect(direct.body.error.code).toBe('CONSOLE_FORBIDDEN');
      const inPolicy = await policyAdmin('PUT', `groups/${groupId}/policy`, { policy: { groupActions: groupActions({}) } });
      expect(inPolicy.status).toBe(403);
      expect((await admin('GET', 'groups')).body.groups.find((g: { id: number }) => g.id === groupId).group_actions).toBeNull();
      const audit = (await admin('GET', 'audit')).body.entries as Array<Record<string, any>>;
      expect(audit).toContainEqual(
        expect.objectContaining({
          actor: 'user:pat',
          action: 'group.set-actions',
          outcome: 'refused',
          details: expect.objectContaining({ permission: 'manage-ioc-tasks' }),
        }),
      );
      expect(audit).toContainEqual(
        expect.objectContaining({
          actor: 'user:pat',
          action: 'group.set-policy',
          outcome: 'refused',
          details: expect.objectContaining({ permission: 'manage-ioc-tasks' }),
        }),
      );

      const ok = await admin('PUT', `groups/${groupId}/actions`, { groupActions: groupActions({}) });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.groupActions.onThreat).toMatchObject({ scan: true, dryRun: false, runMode: 'afterThreat' });
    });

    it("EICAR caught on one workstation is found and quarantined on the others once the console's own sandbox confirms it; a never-quarantine path is only reported; an offline one acts when it returns", async () => {
      const onSecond = plant(ws[1]!, 'eicar.com', EICAR);
      const onThird = plant(ws[2]!, 'tools/old/eicar.com', EICAR);
      const kept = plant(ws[2]!, 'keep/eicar.com', EICAR);
      const onFourth = plant(ws[3]!, 'eicar.com', EICAR);

      await catchOnFirst('first.com', EICAR);
      const taskId = await taskFor('first.com');

      const second = await waitForShare(taskId, ws[1]!, ['matched']);
      expect(second.matches).toEqual([expect.objectContaining({ path: onSecond, action: 'quarantined' })]);
      expect(existsSync(onSecond)).toBe(false);

      const third = await waitForShare(taskId, ws[2]!, ['matched']);
      expect(third.matches).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: onThird, action: 'quarantined' }),
          expect.objectContaining({ path: kept, action: 'kept-never-quarantine' }),
        ]),
      );
      expect(third.matches).toHaveLength(2);
      expect(existsSync(onThird)).toBe(false);
      expect(readFileSync(kept, 'utf8')).toBe(EICAR);

      // The workstation that caught it already acted: it gets no share. The offline one waits for it.
      const now = await shares(taskId);
      expect(now[ws[0]!.agentId]).toBeUndefined();
      expect(now[ws[3]!.agentId]!.state).toBe('offline');
      expect(existsSync(onFourth)).toBe(true);

      await ws[3]!.startAgent();
      const fourth = await waitForShare(taskId, ws[3]!, ['matched']);
      expect(fourth.matches).toEqual([expect.objectContaining({ path: onFourth, action: 'quarantined' })]);
      expect(existsSync(onFourth)).toBe(false);
      expect(ws[3]!.events()).toContainEqual(expect.objectContaining({ type: 'quarantined', path: onFourth }));

      const { body } = await admin('GET', `tasks/${taskId}`);
      expect(body.task).toMatchObject({
        state: 'finished',
        source: { agentId: ws[0]!.agentId },
        counts: { 'match:quarantined': 3, 'match:kept-never-quarantine': 1 },
      });
      expect(body.task.witness).toMatchObject({
        state: 'witnessed',
        witness: { kind: 'sandbox', server: lab.url, threat: expect.stringContaining('EICAR') },
      });
      const audit = (await admin('GET', 'audit')).body.entries as Array<Record<string, any>>;
      expect(audit).toContainEqual(
        expect.objectContaining({ actor: `agent:${ws[0]!.agentId}`, action: 'group-task.create', target: taskId, outcome: 'ok' }),
      );
    });

    it('a dry run reports what would be quarantined where, and changes nothing', async () => {
      const ok = await admin('PUT', `groups/${groupId}/actions`, { groupActions: groupActions({ dryRun: true }) });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const planted = plant(ws[1]!, 'variant.com', EICAR_VARIANT);

      await catchOnFirst('variant.com', EICAR_VARIANT);
      const taskId = await taskFor('variant.com');
      const second = await waitForShare(taskId, ws[1]!, ['matched']);
      expect(second.matches).toEqual([expect.objectContaining({ path: planted, action: 'would-quarantine' })]);
      for (const w of [ws[2]!, ws[3]!]) expect((await waitForShare(taskId, w, ['done'])).matches).toEqual([]);
      expect(readFileSync(planted, 'utf8')).toBe(EICAR_VARIANT);
      expect(ws[1]!.events().filter((e) => e.type === 'quarantined' && e.path === planted)).toEqual([]);
      const { body } = await admin('GET', `tasks/${taskId}`);
      expect(body.task.counts['match:would-quarantine']).toBe(1);
    });

    it('a task is cancelled from the console and the cancel reaches the workstations holding it', async () => {
      // Idle run mode: the shares wait on the workstations for the screen to lock (it never does here), so they are
      // certainly received and not finished when the cancel is sent.
      const ok = await admin('PUT', `groups/${groupId}/actions`, { groupActions: groupActions({ runMode: 'idle' }) });
      expect(ok.status).toBe(200);
      await catchOnFirst('third.com', EICAR + '   ');
      const taskId = await taskFor('third.com');
      for (const w of ws.slice(1)) await waitForShare(taskId, w, ['received']);

      const cancel = await admin('POST', `tasks/${taskId}/cancel`, {});
      expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
      expect(cancel.body.notified).toBe(3);
      for (const w of ws.slice(1)) await waitForShare(taskId, w, ['cancelled']);
      expect(ws[1]!.events()).toContainEqual(expect.objectContaining({ type: 'scan-task-cancelled' }));
      const { body } = await admin('GET', `tasks/${taskId}`);
      expect(body.task).toMatchObject({ state: 'cancelled', cancelledBy: 'user:admin' });
      const again = await admin('POST', `tasks/${taskId}/cancel`, {});
      expect(again.body.error.code).toBe('CONSOLE_CONFLICT');
    });
  });
}
