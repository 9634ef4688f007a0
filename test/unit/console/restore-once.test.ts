import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { createRestoreRequest } from '#console/restore/restore-requests.ts';

const SHA = 'ab'.repeat(32);

// An administrator double-clicks Restore, or two of them answer the same false positive at once: the workstations get
// one restore, and the second ask is answered with the first request.
describe('a restore is sent once while it runs', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openPgliteDb(undefined);
    await migrate(db);
    await db.query(`INSERT INTO groups (name) VALUES ('office')`);
    await db.query(
      `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, group_id)
       SELECT 'agent-' || i, 'ws-' || i, 'serial-' || i, 'sha', now() + interval '1 year', (SELECT id FROM groups WHERE name = 'office')
         FROM generate_series(1, 3) AS i`,
    );
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  const shares = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM restore_shares'))[0]!.n);

  it('asked twice for one workstation, and at once from two sessions: one request, one share', async () => {
    const first = await createRestoreRequest(db, { sha256: SHA, agentId: 'agent-1' }, 'web:ada');
    const again = await createRestoreRequest(db, { sha256: SHA, agentId: 'agent-1' }, 'web:bob');
    expect(again).toEqual({ id: first.id, wake: [], duplicate: true });
    const raced = await Promise.all([
      createRestoreRequest(db, { sha256: SHA, agentId: 'agent-2' }, 'web:ada'),
      createRestoreRequest(db, { sha256: SHA, agentId: 'agent-2' }, 'web:bob'),
    ]);
    expect(raced[0].id).toBe(raced[1].id);
    expect(await shares()).toBe(2);
  });

  it('another workstation, the whole group, or the same one once the first has finished: a new request', async () => {
    const group = await createRestoreRequest(db, { sha256: SHA, groupId: 1 }, 'web:ada');
    expect(group.duplicate).toBeUndefined();
    expect(group.wake).toHaveLength(3);
    const first = await db.query<{ request_id: string }>(`SELECT request_id FROM restore_shares WHERE agent_id = 'agent-1' LIMIT 1`);
    await db.query(`UPDATE restore_shares SET state = 'done' WHERE request_id = $1`, [first[0]!.request_id]);
    const later = await createRestoreRequest(db, { sha256: SHA, agentId: 'agent-1' }, 'web:ada');
    expect(later.duplicate).toBeUndefined();
    expect(later.id).not.toBe(first[0]!.request_id);
  });
});
