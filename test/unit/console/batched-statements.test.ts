import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '#console/db/db.ts';
import { agentStatements } from '#console/agent-api/batched-statements.ts';
import { groupFixture, scanningGroupDb } from '#test-helpers/console-group.ts';

const CA = { fingerprint: 'a'.repeat(64), renewalFingerprint: 'a'.repeat(64), trustFingerprints: ['a'.repeat(64)] };

/** The database as the console's polls see it, counting the statements they send. */
function counting(db: Db): { q: Queryable; statements: () => number } {
  let n = 0;
  return {
    q: { query: (sql, params) => (n++, db.query(sql, params)), exec: (sql) => db.exec(sql) },
    statements: () => n,
  };
}

// One console database with one group whose threats make group tasks; each scenario reports its own object.
let db: Db;
let groupId: number;
const fixture = groupFixture(() => db);

beforeAll(async () => {
  ({ db, groupId } = await scanningGroupDb('fleet', ['~/Downloads']));
}, 120_000);
afterAll(() => db?.close());

describe('polls woken together by a group task', () => {
  const serial = (agentId: string) => `serial-${Number(agentId.slice(-12))}`;

  it('each gets its own share, a revoked or impostor caller its own refusal, and the database sees one statement per look', async () => {
    const source = await fixture.member(groupId);
    const members = await Promise.all(Array.from({ length: 40 }, () => fixture.member(groupId)));
    const made = (await fixture.threat(groupId, source, 'e'.repeat(64)))!;
    expect(made.wake).toHaveLength(40);
    const revoked = members[3]!;
    await db.query('UPDATE agents SET revoked_at = now() WHERE id = $1', [revoked]);

    const { q, statements } = counting(db);
    const batch = agentStatements(q, () => CA);
    const callers = [
      ...members.map((agentId) => ({ agentId, certSerial: serial(agentId) })),
      // Another workstation's id with this one's certificate: the certificate must belong to the agent it names.
      { agentId: members[0]!, certSerial: serial(members[1]!) },
    ];
    const checks = await Promise.allSettled(callers.map((c) => batch.check(c)));
    expect(statements()).toBe(1);

    const refused = checks.flatMap((c, i) => (c.status === 'rejected' ? [[i, (c.reason as { code?: string }).code]] : []));
    expect(refused).toEqual([
      [3, 'AGENT_REVOKED'],
      [40, 'CONSOLE_CLIENT_CERT_REQUIRED'],
    ]);
    const ok = checks.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    expect(ok.every((c) => c.hasTasks && c.groupId === groupId)).toBe(true);

    const before = statements();
    const delivered = await Promise.all(ok.map(async (c) => ({ agent: c.id, tasks: await batch.tasks(c.id) })));
    expect(statements() - before).toBe(1);
    const shares = await db.query<{ id: string; agent_id: string }>('SELECT id, agent_id FROM agent_tasks WHERE group_task_id = $1', [
      made.id,
    ]);
    const shareOf = new Map(shares.map((s) => [s.agent_id, s.id]));
    for (const d of delivered) {
      expect(d.tasks).toEqual([expect.objectContaining({ type: 'ioc-scan', id: shareOf.get(d.agent), groupTaskId: made.id })]);
    }
    // Delivered is recorded for those who got it, and only for them.
    const marked = await db.query<{ agent_id: string }>(
      'SELECT agent_id FROM agent_tasks WHERE group_task_id = $1 AND delivered_at IS NOT NULL ORDER BY agent_id',
      [made.id],
    );
    expect(marked.map((m) => m.agent_id)).toEqual(ok.map((c) => c.id).sort());
  });
});

describe('acknowledgements gathered from many workstations', () => {
  it("a report the database refuses fails only its sender's request, and no report reaches another workstation's share", async () => {
    const source = await fixture.member(groupId);
    const members = await Promise.all(Array.from({ length: 32 }, () => fixture.member(groupId)));
    const made = (await fixture.threat(groupId, source, 'f'.repeat(64)))!;
    const shares = await db.query<{ id: string; agent_id: string }>('SELECT id, agent_id FROM agent_tasks WHERE group_task_id = $1', [
      made.id,
    ]);
    const shareOf = new Map(shares.map((s) => [s.agent_id, s.id]));
    const [rogue, victim, ...rest] = members;

    const { q, statements } = counting(db);
    const batch = agentStatements(q, () => CA);
    const honest = (ids: string[]) => ids.map((id) => batch.report(id, { taskId: shareOf.get(id)!, state: 'received', matches: [] }));
    // The rogue's two reports in the middle of the batch, between honest ones.
    const before = rest.slice(0, 15);
    const after = rest.slice(15);
    const outcomes = await Promise.allSettled([
      ...honest(before),
      // PostgreSQL refuses a NUL character in JSON: the whole statement would fail with it.
      batch.report(rogue!, { taskId: shareOf.get(rogue!)!, state: 'running', matches: [{ path: 'C:\\a\u0000b', action: 'reported' }] }),
      // A workstation reporting on another's share changes nothing.
      batch.report(rogue!, { taskId: shareOf.get(victim!)!, state: 'running', matches: [] }),
      ...honest(after),
    ]);
    // 32 reports in one batch: the failing statement, then halves down to the bad one (2 a level, 5 levels), not one
    // statement per report.
    expect(statements()).toBeGreaterThan(1);
    expect(statements()).toBeLessThanOrEqual(11);
    const received = { status: 'fulfilled', value: expect.objectContaining({ state: 'received' }) };
    expect(outcomes.slice(0, 15)).toEqual(before.map(() => received));
    expect(outcomes[15]!.status).toBe('rejected');
    expect(outcomes[16]).toEqual({ status: 'fulfilled', value: undefined });
    expect(outcomes.slice(17)).toEqual(after.map(() => received));
    const states = await db.query<{ agent_id: string; state: string }>('SELECT agent_id, state FROM agent_tasks WHERE group_task_id = $1', [
      made.id,
    ]);
    const stateOf = new Map(states.map((s) => [s.agent_id, s.state]));
    expect(stateOf.get(victim!)).toBe('pending');
    expect(stateOf.get(rogue!)).toBe('pending');
    for (const id of rest) expect(stateOf.get(id)).toBe('received');
  });
});
