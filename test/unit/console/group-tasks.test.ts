import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { setGroupActions } from '#console/group-tasks/group-actions-store.ts';
import { cancelGroupTask, readGroupTask, recordTaskProgress } from '#console/group-tasks/group-tasks.ts';
import { deliverableTasks } from '#console/group-tasks/deliverable-tasks.ts';
import { planWaves } from '#console/group-tasks/plan-waves.ts';
import { approveGroupTask } from '#console/witness/witness-task.ts';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';
import { groupFixture } from '#test-helpers/console-group.ts';

const SHA = (c: string) => c.repeat(64);

describe('planning who gets a group task', () => {
  const members = ['a', 'b', 'c', 'd', 'e'].map((id, i) => ({ id, online: i % 2 === 1 }));

  it('gives it to every member at once without canary or cap', () => {
    expect(planWaves(members, {}).map((p) => p.state)).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);
  });

  it('serves online members first and lists those beyond the cap as over the limit', () => {
    const plan = planWaves(members, { maxWorkstations: 3 });
    expect(plan.filter((p) => p.state === 'pending').map((p) => p.agentId)).toEqual(['b', 'd', 'a']);
    expect(plan.filter((p) => p.state === 'over-limit').map((p) => p.agentId)).toEqual(['c', 'e']);
  });

  it('holds all but a canary share (at least one workstation) until the canary is done', () => {
    const plan = planWaves(members, { canaryPercent: 10 });
    expect(plan.filter((p) => p.wave === 'canary').map((p) => p.agentId)).toEqual(['b']);
    expect(plan.filter((p) => p.state === 'held')).toHaveLength(4);
  });
});

describe('group tasks in the database', () => {
  let db: Db;
  let groupId: number;

  const fixture = groupFixture(() => db);
  const agent = (online: boolean) => fixture.member(groupId, online);
  const threat = (source: string, sha: string) => fixture.threat(groupId, source, sha);
  const done = (agentId: string, taskId: string, state: 'done' | 'failed' = 'done') =>
    recordTaskProgress(db, agentId, { taskId, state, matches: [] });

  beforeAll(async () => {
    db = await openPgliteDb(undefined);
    await migrate(db);
    groupId = (await db.query<{ id: number }>("INSERT INTO groups (name) VALUES ('g') RETURNING id"))[0]!.id;
  }, 120_000);
  afterAll(() => db?.close());

  it('makes nothing for a group without group actions', async () => {
    const source = await agent(true);
    expect(await threat(source, SHA('0'))).toBeUndefined();
  });

  it('releases the held shares once the canary is done, and makes one task per object however often it is reported', async () => {
    await setGroupActions(db, groupId, { onThreat: { scan: true, quarantineOnMatch: true, canaryPercent: 25, scope: ['~/Downloads'] } });
    const source = (await db.query<{ id: string }>('SELECT id FROM agents LIMIT 1'))[0]!.id;
    const others = [await agent(true), await agent(true), await agent(false), await agent(false)];
    const made = (await threat(source, SHA('1')))!;
    expect(made.wake).toHaveLength(1);
    expect(await threat(others[0]!, SHA('1'))).toBeUndefined();

    const canary = made.wake[0]!;
    const [task] = await deliverableTasks(db, canary);
    expect(task).toMatchObject({
      type: 'ioc-scan',
      groupTaskId: made.id,
      scope: ['~/Downloads'],
      onMatch: { quarantine: true },
      dryRun: false,
      witnessed: false,
    });
    for (const id of others.filter((o) => o !== canary)) expect(await deliverableTasks(db, id)).toEqual([]);

    const { wake } = await done(canary, task!.id);
    expect(wake.sort()).toEqual(others.filter((o) => o !== canary).sort());
    for (const id of wake) {
      const [t] = await deliverableTasks(db, id);
      await done(id, t!.id);
    }
    // A task that would quarantine stays open until a second witness (issue 14); nothing was found, so the
    // operator's approval has no share to reopen and the task is finished at once.
    expect((await readGroupTask(db, made.id)).state).toBe('open');
    expect((await approveGroupTask(db, made.id, 'user:test')).wake).toEqual([]);
    expect((await readGroupTask(db, made.id)).state).toBe('finished');
  });

  it('keeps the rest held when a canary fails', async () => {
    const source = (await db.query<{ id: string }>('SELECT id FROM agents LIMIT 1'))[0]!.id;
    const made = (await threat(source, SHA('2')))!;
    const [t] = await deliverableTasks(db, made.wake[0]!);
    expect((await done(made.wake[0]!, t!.id, 'failed')).wake).toEqual([]);
    const view = await readGroupTask(db, made.id);
    expect(view.shares.filter((s) => s.storedState === 'held').length).toBeGreaterThan(0);
    expect(view.state).toBe('open');
  });

  it('cancels shares not picked up at once and sends a cancel to those delivered', async () => {
    await setGroupActions(db, groupId, { onThreat: { scan: true } });
    const source = (await db.query<{ id: string }>('SELECT id FROM agents LIMIT 1'))[0]!.id;
    const made = (await threat(source, SHA('3')))!;
    const [picked, ...rest] = made.wake;
    const [t] = await deliverableTasks(db, picked!);
    await recordTaskProgress(db, picked!, { taskId: t!.id, state: 'running', matches: [] });
    const { wake } = await cancelGroupTask(db, made.id, 'user:test');
    expect(wake).toEqual([picked]);
    expect(await deliverableTasks(db, picked!)).toEqual([expect.objectContaining({ type: 'cancel', taskId: t!.id })]);
    for (const id of rest) expect(await deliverableTasks(db, id)).toEqual([]);
    await recordTaskProgress(db, picked!, { taskId: t!.id, state: 'cancelled', matches: [] });
    expect(await deliverableTasks(db, picked!)).toEqual([]);
    await expect(cancelGroupTask(db, made.id, 'user:test')).rejects.toMatchObject({ code: 'CONSOLE_CONFLICT' });
  });

  it("keeps and shows the terms a workstation cannot evaluate, so its 'no match' is not read as 'looked, not there'", async () => {
    await setGroupActions(db, groupId, { onThreat: { scan: true } });
    const source = (await db.query<{ id: string }>('SELECT id FROM agents LIMIT 1'))[0]!.id;
    const made = (await threat(source, SHA('5')))!;
    const linux = made.wake[0]!;
    const [t] = await deliverableTasks(db, linux);
    const unsupported = [
      {
        itemId: 'i-dns',
        term: 'DnsEntryItem/Host',
        reason: 'DnsEntryItem/Host cannot be evaluated on linux: Linux keeps no system-wide DNS cache Sandgate can read',
      },
    ];
    await recordTaskProgress(db, linux, {
      taskId: t!.id,
      state: 'received',
      matches: [],
      unsupported,
      termCounts: { evaluated: 5, unsupported: 1 },
    });
    // A later report without the list (an older agent, or a fixed state) does not erase what was said.
    await recordTaskProgress(db, linux, { taskId: t!.id, state: 'done', matches: [] });
    const share = (await readGroupTask(db, made.id)).shares.find((s) => s.agentId === linux)!;
    expect(share).toMatchObject({ state: 'done', unsupported, termCounts: { evaluated: 5, unsupported: 1 } });
    // A workstation that has not reported yet has said nothing either way.
    expect((await readGroupTask(db, made.id)).shares.find((s) => s.agentId !== linux)).toMatchObject({
      unsupported: null,
      termCounts: null,
    });
    await cancelGroupTask(db, made.id, 'user:test');
    for (const id of made.wake)
      for (const c of await deliverableTasks(db, id))
        if (c.type === 'cancel') await recordTaskProgress(db, id, { taskId: c.taskId, state: 'cancelled', matches: [] });
  });

  it('does not deliver a task past its expiry; the shares nobody picked up are shown expired', async () => {
    const source = (await db.query<{ id: string }>('SELECT id FROM agents LIMIT 1'))[0]!.id;
    const made = (await threat(source, SHA('4')))!;
    await db.query("UPDATE group_tasks SET expires_at = now() - interval '1 second' WHERE id = $1", [made.id]);
    for (const id of made.wake) expect(await deliverableTasks(db, id)).toEqual([]);
    expect((await readGroupTask(db, made.id)).shares.every((s) => s.state === 'expired')).toBe(true);
  });
});

const pg = postgresAvailability();
describe.skipIf(!pg.available)(
  `group tasks on a real PostgreSQL server${pg.available ? '' : ` — SKIPPED: ${pg.available === false ? pg.reason : ''}`}`,
  () => {
    let server: TempPostgres;
    let db: Db;
    const fixture = groupFixture(() => db);

    beforeAll(async () => {
      server = startTempPostgres();
      db = await openPostgresDb(server.createDatabase('group_tasks'), { max: 10 });
      await migrate(db);
    }, 120_000);
    afterAll(async () => {
      await db?.close();
      server?.stop();
    });

    it('a task whose workstations all finish at the same moment is finished, not left open', async () => {
      const groupId = (await db.query<{ id: number }>("INSERT INTO groups (name) VALUES ('busy') RETURNING id"))[0]!.id;
      await setGroupActions(db, groupId, { onThreat: { scan: true } });
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) ids.push(await fixture.member(groupId));
      const made = (await fixture.threat(groupId, ids[0]!, SHA('9')))!;
      const shares = await Promise.all(made.wake.map(async (id) => ({ id, task: (await deliverableTasks(db, id))[0]! })));
      // Ten connections: the last shares' transactions overlap, each seeing the others' shares still open unless serialised.
      await Promise.all(shares.map((s) => recordTaskProgress(db, s.id, { taskId: s.task.id, state: 'done', matches: [] })));
      const view = await readGroupTask(db, made.id);
      expect(view.counts).toEqual({ done: 199 });
      expect(view.state).toBe('finished');
    });

    it('a share cancelled while its first delivery is being read is not handed over', async () => {
      const groupId = (await db.query<{ id: number }>("INSERT INTO groups (name) VALUES ('cancelling') RETURNING id"))[0]!.id;
      await setGroupActions(db, groupId, { onThreat: { scan: true } });
      const source = await fixture.member(groupId);
      const target = await fixture.member(groupId);
      const made = (await fixture.threat(groupId, source, SHA('8')))!;
      let delivered: Promise<unknown[]> | undefined;
      // The cancel holds its row locks uncommitted while the workstation's poll starts reading (its snapshot is from
      // before the cancel) and waits on those locks; then the cancel commits.
      await db.transaction(async (tx) => {
        await cancelGroupTask({ ...db, transaction: (fn) => fn(tx) }, made.id, 'user:test');
        delivered = deliverableTasks(db, target);
        await new Promise((r) => setTimeout(r, 300));
      });
      expect(await delivered).toEqual([]);
      expect(await deliverableTasks(db, target)).toEqual([]);
      expect((await readGroupTask(db, made.id)).shares.map((s) => s.storedState)).toEqual(['cancelled']);
    });
  },
);
