import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ADMIN_PASSWORD, loginAs, type Workstation } from '../../integration/console/console-process.ts';
import { asWorkstation, startAttackConsole } from './console-fixture.ts';

const RULES = 'rule quarantine_me {\n  strings: $a = "anything the operator names"\n  condition: $a\n}\n';
const FILE_SHA256 = createHash('sha256').update(RULES).digest('hex');

// An operator's hunt (issue 18) quarantines whatever its file matches, so its second witness must be a second
// operator. Two attacks on that: rogue workstations report the hunt file's own SHA-256 malicious (the "N workstations"
// witness, which vouches for an object, would otherwise upgrade the hunt), and the operator who made a hunt approves it.
describe('only another operator witnesses a hunt that quarantines', () => {
  let c: Awaited<ReturnType<typeof startAttackConsole>>;
  let rogues: Workstation[];
  let olga: Awaited<ReturnType<typeof loginAs>>;
  let taskId: string;

  beforeAll(async () => {
    c = await startAttackConsole();
    expect((await c.cli(['user', 'add', 'olga', '--role', 'ioc-operator', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
    olga = await loginAs(c.consoleProcess.info.adminUrl, c.ca, 'olga', ADMIN_PASSWORD);
    rogues = [await c.workstation('office', false), await c.workstation('office', false)];
    const r = await c.admin('POST', 'hunts', {
      groupId: await c.groupId('office'),
      fileName: 'rules.yar',
      contentBase64: Buffer.from(RULES).toString('base64'),
      options: { quarantineOnMatch: true, scope: ['~/'] },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ awaitingApproval: true, file: { sha256: FILE_SHA256 } });
    taskId = r.body.id;
  }, 120_000);

  afterAll(async () => {
    await c?.close();
  });

  const witness = async () => (await c.admin('GET', `tasks/${taskId}`)).body.task.witness;

  it("two workstations reporting the hunt file's SHA-256 malicious do not witness the hunt", async () => {
    for (const [i, w] of rogues.entries()) {
      const sent = await asWorkstation(c.consoleProcess, c.ca, w).postEvents([
        {
          seq: 0,
          event: { time: new Date().toISOString(), type: 'verdict', level: 'malicious', sha256: FILE_SHA256, path: `/tmp/r${i}.yar` },
        },
      ]);
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    }
    expect(await witness()).toMatchObject({ state: 'awaiting' });
    expect((await witness()).summary).toContain("waiting for another operator's approval");
    const audit = (await c.admin('GET', 'audit?limit=200')).body.entries as Array<{ action: string; target: string }>;
    expect(audit.filter((e) => e.action === 'group-task.witness' && e.target === taskId)).toEqual([]);
  });

  it('the operator who made the hunt cannot approve it; another operator can', async () => {
    const own = await c.admin('POST', `tasks/${taskId}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.body.error).toMatchObject({ code: 'CONSOLE_FORBIDDEN', params: { reason: 'own-hunt' } });
    expect(await witness()).toMatchObject({ state: 'awaiting' });
    const audit = (await c.admin('GET', 'audit?limit=200')).body.entries as Array<Record<string, any>>;
    expect(audit.find((e) => e.action === 'group-task.approve' && e.actor === 'user:admin')).toMatchObject({
      outcome: 'failed',
      details: { code: 'CONSOLE_FORBIDDEN' },
    });

    const other = await olga('POST', `tasks/${taskId}/approve`, {});
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    expect(await witness()).toMatchObject({ state: 'witnessed', witness: { kind: 'operator', by: 'user:olga' } });
  });
});
