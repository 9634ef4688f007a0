import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { createGroup, listGroups, policyHistory, rollBackPolicy, setGroupPolicy } from '#console/groups/groups.ts';

// An administrator changes a group's policy, regrets it, and goes back: each change is kept with who made it, and going
// back is a new revision the workstations reload, never a rewrite of the past.
describe("a group's policy history", () => {
  let db: Db;
  let id: number;
  const v1 = {
    sandbox: {
      servers: [{ url: 'https://sandbox.example:8443', kind: 'sandgate', token: 'secret-one' }],
      serverCertificate: '/etc/sandgate/lab.pem',
    },
  };
  const v2 = {
    sandbox: {
      servers: [{ url: 'https://other.example:8443', kind: 'sandgate', token: 'secret-two' }],
      serverCertificate: '/etc/sandgate/lab.pem',
    },
  };

  beforeAll(async () => {
    db = await openPgliteDb(undefined);
    await migrate(db);
    id = (await createGroup(db, 'office')).id;
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('keeps every revision with who set it, newest first', async () => {
    const a = await setGroupPolicy(db, id, v1, 'web:ada');
    const b = await setGroupPolicy(db, id, v2, 'web:bob');
    const h = await policyHistory(db, id);
    expect(h.map((r) => [Number(r.revision), r.set_by, r.policy])).toEqual([
      [Number(b.revision), 'web:bob', v2],
      [Number(a.revision), 'web:ada', v1],
    ]);
  });

  it('a rollback makes an earlier policy current as a new revision, its secret as it was', async () => {
    const [, first] = await policyHistory(db, id);
    const back = await rollBackPolicy(db, id, Number(first!.revision), 'web:ada');
    const g = (await listGroups(db)).find((x) => x.id === id)!;
    expect(Number(g.policy_revision)).toBe(Number(back.revision));
    expect(Number(back.revision)).toBeGreaterThan(Number(first!.revision));
    expect(g.policy).toEqual(v1);
    expect((await policyHistory(db, id)).map((r) => r.set_by)).toEqual(['web:ada', 'web:bob', 'web:ada']);
  });

  it('refuses a revision the group never had, and an invalid policy leaves no history row', async () => {
    await expect(rollBackPolicy(db, id, 999_999, 'web:ada')).rejects.toMatchObject({ code: 'CONSOLE_NOT_FOUND' });
    await expect(setGroupPolicy(db, id, { sandbox: { servers: 'nope' } }, 'web:ada')).rejects.toMatchObject({ code: 'POLICY_INVALID' });
    expect(await policyHistory(db, id)).toHaveLength(3);
  });
});
