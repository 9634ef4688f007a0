import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iocScanTaskSchema, type ConsoleTask, type ShippedEvent } from '@sandgate/shared';
import type { Db } from '#console/db/db.ts';
import { migrate } from '#console/db/migrate.ts';
import { setGroupActions } from '#console/group-tasks/group-actions-store.ts';
import { readGroupTask, recordTaskProgress } from '#console/group-tasks/group-tasks.ts';
import { deliverableTasks } from '#console/group-tasks/deliverable-tasks.ts';
import { onThreatEvents } from '#console/group-tasks/on-threat.ts';
import { ChangeNotifier } from '#console/agent-api/change-notifier.ts';
import { approveGroupTask, witnessTask } from '#console/witness/witness-task.ts';
import { readWitnessStatus } from '#console/witness/witness-status.ts';
import { readAudit } from '#console/audit/audit-log.ts';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import { groupFixture, scanningGroupDb } from '#test-helpers/console-group.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';

const SHA = (c: string) => c.repeat(64);

/** A malicious verdict as an agent ships it, with whatever it claims besides. */
const verdict = (seq: number, sha256: string, extra: Partial<ShippedEvent> = {}): ShippedEvent => ({
  seq,
  event: { time: new Date().toISOString(), type: 'verdict', level: 'malicious', sha256, path: '/home/u/Downloads/x.exe', threat: 'Test' },
  ...extra,
});

describe("a group task's second witness", () => {
  let db: Db;
  let groupId: number;
  const notifier = new ChangeNotifier();
  const fixture = groupFixture(() => db);
  const ctx = () => ({ db, notifier, witness: { agents: 2, maxOpenPerSource: 2 } });
  const scan = async (agentId: string): Promise<Extract<ConsoleTask, { type: 'ioc-scan' }>> => {
    const t = (await deliverableTasks(db, agentId)).find((x) => x.type === 'ioc-scan');
    if (t?.type !== 'ioc-scan') throw new Error('no scan share delivered');
    return t;
  };

  beforeAll(async () => {
    ({ db, groupId } = await scanningGroupDb('office', ['~/']));
  }, 120_000);
  afterAll(() => db?.close());

  it("builds the task's indicators from the object's facts, never from the IOC the agent sent", async () => {
    const source = await fixture.member(groupId);
    const other = await fixture.member(groupId);
    const forged = '<OpenIOC><criteria><IndicatorItem><Content type="string">.</Content></IndicatorItem></criteria></OpenIOC>';
    await onThreatEvents(ctx(), { id: source, groupId }, [
      verdict(0, SHA('a'), { ioc: { sha256: SHA('a'), xml: forged }, object: { size: 68, md5: '4'.repeat(32) } }),
    ]);
    const share = iocScanTaskSchema.parse(await scan(other));
    expect(share).toMatchObject({ sha256: SHA('a'), witnessed: false });
    expect(share.ioc).not.toContain('<Content type="string">.</Content>');
    expect(share.ioc).toContain(`<Content type="sha256">${SHA('a')}</Content>`);
    expect(share.ioc).toContain('<Content type="int">68</Content>');
    expect(share.ioc).toContain(`<Content type="md5">${'4'.repeat(32)}</Content>`);
  });

  it('a done share that found the object reopens when witnessed; the agent is told until it says it knows', async () => {
    const [source, finder, empty, busy] = [
      await fixture.member(groupId),
      await fixture.member(groupId),
      await fixture.member(groupId),
      await fixture.member(groupId),
    ];
    await db.query('UPDATE agents SET group_id = NULL WHERE group_id = $1 AND id NOT IN ($2, $3, $4, $5)', [
      groupId,
      source,
      finder,
      empty,
      busy,
    ]);
    await onThreatEvents(ctx(), { id: source, groupId }, [verdict(0, SHA('b'))]);
    const taskId = (await scan(finder)).groupTaskId;
    const shareOf = async (a: string) => (await scan(a)).id;
    const [f, e, b] = [await shareOf(finder), await shareOf(empty), await shareOf(busy)];
    await recordTaskProgress(db, finder, {
      taskId: f,
      state: 'done',
      matches: [{ path: '/home/u/x.exe', sha256: SHA('b'), action: 'awaiting-witness' }],
    });
    await recordTaskProgress(db, empty, { taskId: e, state: 'done', matches: [] });
    await recordTaskProgress(db, busy, { taskId: b, state: 'running', matches: [] });
    expect((await readGroupTask(db, taskId)).state).toBe('open');
    expect((await readWitnessStatus(db, taskId, { sandboxConfigured: false })).summary).toMatch(
      /^waiting for a second witness: .*1 of 2 workstations reported it malicious/,
    );

    const w = (await witnessTask(db, taskId, { kind: 'operator', by: 'user:ada', at: new Date().toISOString() }))!;
    expect(w.wake.sort()).toEqual([finder, busy].sort());
    for (const a of [finder, busy])
      expect(await deliverableTasks(db, a)).toEqual([
        expect.objectContaining({
          type: 'witnessed',
          taskId: a === finder ? f : b,
          witness: expect.objectContaining({ kind: 'operator' }),
        }),
      ]);
    expect(await deliverableTasks(db, empty)).toEqual([]);

    // A `done` sent before the agent heard of the witness does not close the share: it still has to act.
    await recordTaskProgress(db, finder, {
      taskId: f,
      state: 'done',
      matches: [{ path: '/home/u/x.exe', sha256: SHA('b'), action: 'awaiting-witness' }],
    });
    expect((await readGroupTask(db, taskId)).shares.find((s) => s.agentId === finder)!.storedState).toBe('running');
    expect(await deliverableTasks(db, finder)).toEqual([expect.objectContaining({ type: 'witnessed' })]);
    await recordTaskProgress(db, finder, {
      taskId: f,
      state: 'done',
      witnessed: true,
      matches: [{ path: '/home/u/x.exe', sha256: SHA('b'), action: 'quarantined' }],
    });
    await recordTaskProgress(db, busy, { taskId: b, state: 'done', witnessed: true, matches: [] });
    expect(await deliverableTasks(db, finder)).toEqual([]);
    const view = await readGroupTask(db, taskId);
    expect(view.state).toBe('finished');
    expect(view.counts['match:quarantined']).toBe(1);
    expect((await readWitnessStatus(db, taskId, { sandboxConfigured: false })).summary).toMatch(/^witnessed: approved by user:ada/);
    await expect(approveGroupTask(db, taskId, 'user:bob')).rejects.toMatchObject({ code: 'CONSOLE_CONFLICT' });
  });

  it('the same object reported malicious by a second workstation witnesses the task; the first alone never does', async () => {
    const [first, second, member] = [await fixture.member(groupId), await fixture.member(groupId), await fixture.member(groupId)];
    await onThreatEvents(ctx(), { id: first, groupId }, [verdict(0, SHA('c'))]);
    // The same workstation again (another seq) is still one workstation.
    await onThreatEvents(ctx(), { id: first, groupId }, [verdict(500, SHA('c'))]);
    const share = await scan(member);
    expect(share.witnessed).toBe(false);
    await onThreatEvents(ctx(), { id: second, groupId: null }, [verdict(0, SHA('c'))]);
    expect((await deliverableTasks(db, member)).find((t) => t.type === 'ioc-scan')).toMatchObject({ witnessed: true });
    expect((await readWitnessStatus(db, share.groupTaskId, { sandboxConfigured: false })).witness).toMatchObject({
      kind: 'agents',
      count: 2,
      required: 2,
    });
  });

  it('a workstation cannot keep more unwitnessed tasks open than the console allows; the refusal is audited', async () => {
    const rogue = await fixture.member(groupId);
    await fixture.member(groupId);
    await onThreatEvents(ctx(), { id: rogue, groupId }, [verdict(0, SHA('d')), verdict(100, SHA('e')), verdict(200, SHA('f'))]);
    const tasks = await db.query<{ sha256: string }>('SELECT sha256 FROM group_tasks WHERE source_agent_id = $1 ORDER BY sha256', [rogue]);
    expect(tasks.map((t) => t.sha256)).toEqual([SHA('d'), SHA('e')]);
    expect(await readAudit(db)).toContainEqual(
      expect.objectContaining({
        actor: `agent:${rogue}`,
        action: 'group-task.create',
        target: SHA('f'),
        outcome: 'refused',
        details: expect.objectContaining({ code: 'CONSOLE_AGENT_RATE_LIMITED' }),
      }),
    );
  });
});

const pg = postgresAvailability();
describe.skipIf(!pg.available)(
  `a witness racing a delivery on a real PostgreSQL server${pg.available ? '' : ` — SKIPPED: ${pg.available === false ? pg.reason : ''}`}`,
  () => {
    let server: TempPostgres;
    let db: Db;
    const fixture = groupFixture(() => db);

    beforeAll(async () => {
      server = startTempPostgres();
      db = await openPostgresDb(server.createDatabase('witness_race'), { max: 10 });
      await migrate(db);
    }, 120_000);
    afterAll(async () => {
      await db?.close();
      server?.stop();
    });

    it('a share handed over, unwitnessed, while its task is being witnessed still hears of the witness', async () => {
      const groupId = (await db.query<{ id: number }>("INSERT INTO groups (name) VALUES ('racing') RETURNING id"))[0]!.id;
      await setGroupActions(db, groupId, { onThreat: { scan: true, quarantineOnMatch: true, scope: ['~/'] } });
      const source = await fixture.member(groupId);
      const target = await fixture.member(groupId);
      const made = (await fixture.threat(groupId, source, SHA('9')))!;
      let delivered: Promise<ConsoleTask[]> | undefined;
      // The witness holds its row locks uncommitted while the workstation's poll starts reading (its snapshot is from
      // before the witness) and waits on those locks; then the witness commits.
      await db.transaction(async (tx) => {
        await witnessTask({ ...db, transaction: (fn) => fn(tx) }, made.id, {
          kind: 'operator',
          by: 'user:test',
          at: new Date().toISOString(),
        });
        delivered = deliverableTasks(db, target);
        await new Promise((r) => setTimeout(r, 300));
      });
      const [share] = (await delivered)!;
      if (share?.type !== 'ioc-scan') throw new Error('no share delivered');
      // The poll's snapshot predates the witness: the share went out unwitnessed. The workstation acknowledges it
      // without knowing, and is told with its next poll.
      expect(share.witnessed).toBe(false);
      await recordTaskProgress(db, target, { taskId: share.id, state: 'received', matches: [] });
      expect(await deliverableTasks(db, target)).toEqual([expect.objectContaining({ type: 'witnessed', taskId: share.id })]);
    });
  },
);
