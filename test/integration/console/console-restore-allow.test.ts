import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollFor } from '#test-helpers/stack.ts';
import {
  ADMIN_PASSWORD,
  EICAR,
  EICAR_SHA256,
  enrollWorkstation,
  loginAs,
  POLICY_ADMIN_PASSWORD,
  runConsoleCli,
  startConsoleProcess,
  type ConsoleProcess,
  type Workstation,
} from './console-process.ts';

// A security administrator restores a false positive from the console and ticks "never act on it again in this
// group": the SHA-256 joins the group's policy (`response.allowSha256`), the workstations get it with their next
// poll, and the same download is then judged malicious but left alone.

type Admin = Awaited<ReturnType<typeof loginAs>>;
interface Group {
  id: number;
  name: string;
  policy: { response?: { allowSha256?: string[] } } | null;
  policy_revision: number;
}

describe('restoring a false positive with "never act on it again" (embedded PostgreSQL)', () => {
  let dataDir: string;
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
  let console_: ConsoleProcess;
  let admin: Admin;
  let policyAdmin: Admin;
  let iocOperator: Admin;
  let groupId: number;
  let office: Workstation;
  let loner: Workstation;

  const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);

  const workstation = (group: string | undefined, start: boolean) => enrollWorkstation({ cli, consoleProcess: console_, group, start });

  const group = async (): Promise<Group> => (await admin('GET', 'groups')).body.groups.find((g: Group) => g.id === groupId);
  const auditEntries = async () => (await admin('GET', 'audit')).body.entries as Array<Record<string, any>>;
  const submit = async (path: string) => {
    const r = await office.sandgate(['submit', path, '--wait', '--json']);
    return { code: r.code, stderr: r.stderr, line: JSON.parse(r.stdout.trim().split('\n')[0]!) };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-allow-'));
    console_ = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0'], env);
    const ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
    expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
    expect((await cli(['user', 'add', 'pat', '--role', 'policy-admin', '--password-stdin'], POLICY_ADMIN_PASSWORD + '\n')).code).toBe(0);
    expect((await cli(['user', 'add', 'ivy', '--role', 'ioc-operator', '--password-stdin'], POLICY_ADMIN_PASSWORD + '\n')).code).toBe(0);
    admin = await loginAs(console_.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
    policyAdmin = await loginAs(console_.info.adminUrl, ca, 'pat', POLICY_ADMIN_PASSWORD);
    iocOperator = await loginAs(console_.info.adminUrl, ca, 'ivy', POLICY_ADMIN_PASSWORD);
    groupId = (await admin('POST', 'groups', { name: 'office' })).body.id;
    [office, loner] = await Promise.all([workstation('office', true), workstation(undefined, false)]);
    // The group's own policy: the workstation's local one, so the allow list has a document to join.
    const local = JSON.parse(readFileSync(office.policyPath, 'utf8'));
    const set = await admin('PUT', `groups/${groupId}/policy`, {
      policy: { ...local, sandbox: { ...local.sandbox, connectTimeoutMs: 750 } },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    await pollFor('the group policy applied on the workstation', async () => {
      const r = await office.sandgate(['policy', 'show', '--json']);
      return r.code === 0 && JSON.parse(r.stdout).policy.sandbox.connectTimeoutMs === 750 ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    for (const w of [office, loner]) await w?.close();
    await console_?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a user without the IOC-task permission cannot declare a false positive: refused, audited, the policy unchanged', async () => {
    const before = await group();
    const r = await policyAdmin('POST', 'quarantine/restore', { sha256: EICAR_SHA256, groupId, allow: true });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('CONSOLE_FORBIDDEN');
    expect(await auditEntries()).toContainEqual(
      expect.objectContaining({
        actor: 'user:pat',
        action: 'quarantine.restore',
        outcome: 'refused',
        details: expect.objectContaining({ allow: true, permission: 'manage-ioc-tasks' }),
      }),
    );
    expect(await group()).toMatchObject({ policy_revision: before.policy_revision, policy: before.policy });
  });

  it('a user who may restore but not change policy cannot declare a false positive either', async () => {
    const before = await group();
    const r = await iocOperator('POST', 'quarantine/restore', { sha256: EICAR_SHA256, groupId, allow: true });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('CONSOLE_FORBIDDEN');
    expect(await auditEntries()).toContainEqual(
      expect.objectContaining({
        actor: 'user:ivy',
        action: 'quarantine.restore',
        outcome: 'refused',
        details: expect.objectContaining({ allow: true, permission: 'manage-policy' }),
      }),
    );
    expect(await group()).toMatchObject({ policy_revision: before.policy_revision, policy: before.policy });
  });

  it('a workstation in no group cannot be given an allow list: CONSOLE_CONFLICT, and nothing is restored', async () => {
    const r = await admin('POST', 'quarantine/restore', { sha256: EICAR_SHA256, agentId: loner.agentId, allow: true });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('CONSOLE_CONFLICT');
    expect(r.body.error.message).toMatch(/in no group/);
    expect((await admin('GET', 'restores')).body.restores).toEqual([]);
  });

  it('a group restore with allow restores the file, adds the SHA-256 to the group policy and the re-download is left alone', async () => {
    const first = join(office.downloads, 'eicar.com');
    writeFileSync(first, EICAR);
    const quarantinedRun = await submit(first);
    expect(quarantinedRun.code, quarantinedRun.stderr).toBe(1);
    expect(existsSync(first)).toBe(false);
    const before = await group();

    const r = await admin('POST', 'quarantine/restore', { sha256: EICAR_SHA256, groupId, allow: true });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.allowed).toEqual({ groupId, revision: expect.any(Number) });
    const after = await group();
    expect(after.policy_revision).toBeGreaterThan(before.policy_revision);
    expect(after.policy_revision).toBe(r.body.allowed.revision);
    expect(after.policy?.response?.allowSha256).toEqual([EICAR_SHA256]);
    const audit = await auditEntries();
    expect(audit).toContainEqual(
      expect.objectContaining({
        actor: 'user:admin',
        action: 'quarantine.restore',
        target: EICAR_SHA256,
        outcome: 'ok',
        details: expect.objectContaining({ allow: true, groupId }),
      }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        actor: 'user:admin',
        action: 'group.allow-sha256',
        target: String(groupId),
        outcome: 'ok',
        details: expect.objectContaining({ sha256: EICAR_SHA256, restoreId: r.body.id }),
      }),
    );

    await pollFor('the restore reported', async () => {
      const { body } = await admin('GET', `restores/${r.body.id}`);
      return body.restore.shares[0].state === 'done' ? true : undefined;
    });
    expect(readFileSync(first, 'utf8')).toBe(EICAR);
    await pollFor('the allow list applied on the workstation', async () => {
      const p = await office.sandgate(['policy', 'show', '--json']);
      return p.code === 0 && JSON.parse(p.stdout).policy.response.allowSha256.includes(EICAR_SHA256) ? true : undefined;
    });

    // The same bytes downloaded again: the verdict cache still says malicious, and nothing is done about it.
    const again = join(office.downloads, 'eicar (1).com');
    writeFileSync(again, EICAR);
    const allowed = await submit(again);
    expect(allowed.code, allowed.stderr).toBe(1);
    expect(allowed.line.verdict.level).toBe('malicious');
    expect(allowed.line.actions).toEqual([
      expect.objectContaining({ type: 'quarantine', status: 'skipped', code: 'ALLOWED_FALSE_POSITIVE' }),
    ]);
    expect(readFileSync(again, 'utf8')).toBe(EICAR);
    expect(readFileSync(first, 'utf8')).toBe(EICAR);
    // The console sees why, like every event.
    await pollFor('verdict-allowed shipped to the console', async () => {
      const { body } = await admin('GET', `agents/${office.agentId}/events?limit=1000`);
      return body.events.some(
        (e: { event: { type: string; path?: string } }) => e.event.type === 'verdict-allowed' && e.event.path === again,
      )
        ? true
        : undefined;
    });
  });

  it('allowing an object already on the list restores it again without a new policy revision', async () => {
    const before = await group();
    const r = await admin('POST', 'quarantine/restore', { sha256: EICAR_SHA256, agentId: office.agentId, allow: true });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.allowed).toEqual({ groupId, revision: before.policy_revision });
    expect((await group()).policy?.response?.allowSha256).toEqual([EICAR_SHA256]);
  });
});
