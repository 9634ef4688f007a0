import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { audit, readAudit } from '#console/audit/audit-log.ts';

// The audit log keeps ids (names change); an administrator reads names: the workstation's host, the group's name.
describe('the audit log as read', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openPgliteDb(undefined);
    await migrate(db);
    await db.query(`INSERT INTO groups (name) VALUES ('office')`);
    await db.query(
      `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after) VALUES ('agent-1', 'reception-pc', 's1', 'h', now())`,
    );
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('names workstations and groups by what they are called now, keeping the id it stored', async () => {
    await audit(db, { actor: 'web:ada', action: 'agent.revoke', target: 'agent-1', outcome: 'ok' });
    await audit(db, { actor: 'web:ada', action: 'group.set-policy', target: '1', outcome: 'ok' });
    await audit(db, { actor: 'web:ada', action: 'group.create', target: '1', outcome: 'ok' });
    await audit(db, { actor: 'web:ada', action: 'agent.revoke', target: "x' OR 1=1", outcome: 'refused' });
    await db.query(`UPDATE groups SET name = 'front office' WHERE name = 'office'`);
    const rows = await readAudit(db, 10);
    expect(rows.map((r) => [r.action, r.target, r.target_name])).toEqual([
      ['agent.revoke', "x' OR 1=1", null],
      ['group.create', '1', null], // its target is the name it was made with
      ['group.set-policy', '1', 'front office'],
      ['agent.revoke', 'agent-1', 'reception-pc'],
    ]);
  });
});
