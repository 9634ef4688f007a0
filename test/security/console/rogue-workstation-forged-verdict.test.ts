import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollFor } from '#test-helpers/stack.ts';
import { EICAR, EICAR_SHA256, type Workstation } from '../../integration/console/console-process.ts';
import { asWorkstation, startAttackConsole } from './console-fixture.ts';
import { FORGED_IOC } from '../forged-ioc.ts';

interface Share {
  agentId: string;
  state: string;
  matches: Array<{ path: string; action: string; code?: string }>;
}

// A rogue enrolled workstation uses its own client certificate to send one forged `verdict` event: level malicious,
// EICAR's SHA-256, and the IOC above. Another member of its group has personal files in its home folder and, under an
// innocent name, a file that really is EICAR.
describe('a rogue workstation forges a malicious verdict to make its group delete files', () => {
  let c: Awaited<ReturnType<typeof startAttackConsole>>;
  let rogue: Workstation;
  let victim: Workstation;
  let notes: string;
  let report: string;
  let renamed: string;
  let taskId: string;

  const shareOfVictim = async (): Promise<Share | undefined> => {
    const { body } = await c.admin('GET', `tasks/${taskId}`);
    return (body.task.shares as Share[]).find((s) => s.agentId === victim.agentId);
  };

  beforeAll(async () => {
    c = await startAttackConsole();
    rogue = await c.workstation('office', false);
    victim = await c.workstation('office', false);
    const home = join(victim.root, 'user');
    victim.env.HOME = home;
    mkdirSync(join(home, 'Documents'), { recursive: true });
    mkdirSync(join(home, 'Downloads'), { recursive: true });
    notes = join(home, 'notes.txt');
    report = join(home, 'Documents', 'report.docx');
    renamed = join(home, 'Downloads', 'holiday-photos.scr');
    writeFileSync(notes, 'shopping: milk, eggs\n');
    writeFileSync(report, 'quarterly report\n');
    writeFileSync(renamed, EICAR);
    await victim.startAgent();
    const groupId = await c.groupId('office');
    const set = await c.admin('PUT', `groups/${groupId}/actions`, {
      groupActions: { onThreat: { scan: true, quarantineOnMatch: true, scope: ['~/'] }, taskExpiresHours: 1 },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await c?.close();
  });

  it("the forged IOC drives nothing: the workstation hunts only the object's SHA-256, and holds even that until a second witness", async () => {
    const forged = await asWorkstation(c.consoleProcess, c.ca, rogue).postEvents([
      {
        seq: 0,
        event: {
          time: new Date().toISOString(),
          type: 'verdict',
          level: 'malicious',
          sha256: EICAR_SHA256,
          path: '/home/rogue/Downloads/x.exe',
          threat: 'Totally-Real-Threat',
        },
        ioc: { sha256: EICAR_SHA256, xml: FORGED_IOC },
      },
    ]);
    expect(forged.status, JSON.stringify(forged.body)).toBe(200);
    taskId = await pollFor('the group task the forged verdict made', async () => {
      const { body } = await c.admin('GET', 'tasks');
      return (body.tasks as Array<{ id: string; sha256: string }>).find((t) => t.sha256 === EICAR_SHA256)?.id;
    });

    const share = await pollFor(
      'the victim scanned its home folder',
      async () => {
        const s = await shareOfVictim();
        return s && ['awaiting-witness', 'matched', 'done'].includes(s.state) ? s : undefined;
      },
      60_000,
    );
    // Only the real object matched (the console built the indicators from the SHA-256), and it was not quarantined.
    expect(share.matches).toEqual([expect.objectContaining({ path: renamed, action: 'awaiting-witness' })]);
    expect(readFileSync(notes, 'utf8')).toBe('shopping: milk, eggs\n');
    expect(readFileSync(report, 'utf8')).toBe('quarterly report\n');
    expect(readFileSync(renamed, 'utf8')).toBe(EICAR);
    expect(victim.events().filter((e) => e.type === 'quarantined')).toEqual([]);

    const { body } = await c.admin('GET', `tasks/${taskId}`);
    expect(body.task.state).toBe('open');
    expect(body.task.witness).toMatchObject({ state: 'awaiting', reports: { count: 1, required: 2 } });
    expect(body.task.witness.summary).toMatch(
      /^waiting for a second witness: .*1 of 2 workstations reported it malicious; or an operator's approval/,
    );
    // The rogue's IOC is kept for analysts, labelled as its claim.
    const claim = await c.viewer('GET', `tasks/${taskId}/agent-ioc`);
    expect(claim.body).toMatchObject({ claimedBy: `agent:${rogue.agentId}`, ioc: FORGED_IOC, note: expect.stringContaining('claim') });
  });

  it("a viewer cannot approve it; an operator's approval makes the workstation quarantine the real object, and nothing else", async () => {
    const refused = await c.viewer('POST', `tasks/${taskId}/approve`, {});
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('CONSOLE_FORBIDDEN');
    expect(existsSync(renamed)).toBe(true);

    const ok = await c.admin('POST', `tasks/${taskId}/approve`, {});
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const share = await pollFor(
      'the victim acted on the witnessed object',
      async () => {
        const s = await shareOfVictim();
        return s?.state === 'matched' ? s : undefined;
      },
      60_000,
    );
    expect(share.matches).toEqual([expect.objectContaining({ path: renamed, action: 'quarantined' })]);
    expect(existsSync(renamed)).toBe(false);
    expect(readFileSync(notes, 'utf8')).toBe('shopping: milk, eggs\n');
    expect(readFileSync(report, 'utf8')).toBe('quarterly report\n');

    const { body } = await c.admin('GET', `tasks/${taskId}`);
    expect(body.task).toMatchObject({
      state: 'finished',
      witness: { state: 'witnessed', witness: { kind: 'operator', by: 'user:admin' } },
    });
    const audit = (await c.admin('GET', 'audit')).body.entries as Array<Record<string, unknown>>;
    expect(audit).toContainEqual(
      expect.objectContaining({ actor: 'user:vic', action: 'group-task.approve', target: taskId, outcome: 'refused' }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({ actor: 'user:admin', action: 'group-task.approve', target: taskId, outcome: 'ok' }),
    );
  });
});
