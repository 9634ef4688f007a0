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

type Admin = Awaited<ReturnType<typeof loginAs>>;
interface RestoreShare {
  agentId: string;
  state: string;
  items: Array<{ quarantineId: string; path: string; outcome: string; code?: string }>;
}

describe('restoring a false positive from the console (embedded PostgreSQL)', () => {
  let dataDir: string;
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
  let console_: ConsoleProcess;
  let admin: Admin;
  let policyAdmin: Admin;
  let groupId: number;
  const ws: Workstation[] = [];

  const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);

  const workstation = () => enrollWorkstation({ cli, consoleProcess: console_, group: 'office' });

  /** The workstation downloads EICAR; its sandbox says malicious and it quarantines the file where it was. */
  const quarantineEicar = async (w: Workstation): Promise<string> => {
    const p = join(w.downloads, 'eicar.com');
    writeFileSync(p, EICAR);
    const r = await w.sandgate(['submit', p, '--wait', '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(existsSync(p)).toBe(false);
    return p;
  };

  /** The restore request once every workstation has reported. */
  const outcome = (id: string) =>
    pollFor(`restore ${id} reported everywhere`, async () => {
      const { body } = await admin('GET', `restores/${id}`);
      const shares = body.restore.shares as RestoreShare[];
      return shares.every((s) => s.state !== 'pending' && s.state !== 'offline')
        ? Object.fromEntries(shares.map((s) => [s.agentId, s]))
        : undefined;
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-restore-'));
    console_ = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0'], env);
    const ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
    expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
    expect((await cli(['user', 'add', 'pat', '--role', 'policy-admin', '--password-stdin'], POLICY_ADMIN_PASSWORD + '\n')).code).toBe(0);
    admin = await loginAs(console_.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
    policyAdmin = await loginAs(console_.info.adminUrl, ca, 'pat', POLICY_ADMIN_PASSWORD);
    expect((await admin('POST', 'groups', { name: 'office' })).status).toBe(200);
    ws.push(...(await Promise.all([workstation(), workstation()])));
    groupId = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'office').id;
  }, 90_000);

  afterAll(async () => {
    for (const w of ws) await w.close();
    await console_?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a user without the IOC-task permission cannot restore; the refusal is audited and nothing is sent', async () => {
    const r = await policyAdmin('POST', 'quarantine/restore', { sha256: EICAR_SHA256, groupId });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('CONSOLE_FORBIDDEN');
    const audit = (await admin('GET', 'audit')).body.entries as Array<Record<string, any>>;
    expect(audit).toContainEqual(
      expect.objectContaining({
        actor: 'user:pat',
        action: 'quarantine.restore',
        target: EICAR_SHA256,
        outcome: 'refused',
        details: expect.objectContaining({ permission: 'manage-ioc-tasks', groupId }),
      }),
    );
    expect((await admin('GET', 'restores')).body.restores).toEqual([]);
  });

  it('the same EICAR quarantined on two workstations is restored on all of the group, byte-identical, each outcome reported', async () => {
    const paths = await Promise.all(ws.map(quarantineEicar));
    const r = await admin('POST', 'quarantine/restore', { sha256: EICAR_SHA256, groupId });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.workstations).toBe(2);

    const shares = await outcome(r.body.id);
    ws.forEach((w, i) => {
      expect(shares[w.agentId]).toMatchObject({ state: 'done', items: [expect.objectContaining({ path: paths[i], outcome: 'restored' })] });
      expect(readFileSync(paths[i]!, 'utf8')).toBe(EICAR);
      expect(w.events()).toContainEqual(expect.objectContaining({ type: 'restored', path: paths[i], sha256: EICAR_SHA256 }));
    });
    const audit = (await admin('GET', 'audit')).body.entries as Array<Record<string, any>>;
    expect(audit).toContainEqual(
      expect.objectContaining({ actor: 'user:admin', action: 'quarantine.restore', target: EICAR_SHA256, outcome: 'ok' }),
    );
  });

  it('on one workstation, a file that took the original place is never overwritten: the restore is refused with its code', async () => {
    const w = ws[0]!;
    const p = await quarantineEicar(w);
    writeFileSync(p, 'the user’s new file\n');
    const r = await admin('POST', 'quarantine/restore', { sha256: EICAR_SHA256, agentId: w.agentId });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.workstations).toBe(1);

    const shares = await outcome(r.body.id);
    expect(Object.keys(shares)).toEqual([w.agentId]);
    expect(shares[w.agentId]).toMatchObject({
      state: 'done',
      items: [expect.objectContaining({ path: p, outcome: 'refused', code: 'RESTORE_TARGET_EXISTS' })],
    });
    expect(readFileSync(p, 'utf8')).toBe('the user’s new file\n');
    // Still in the quarantine, so it can be restored elsewhere later.
    const list = await w.sandgate(['quarantine', 'list', '--json']);
    expect(list.stdout).toContain(EICAR_SHA256);
  });
});
