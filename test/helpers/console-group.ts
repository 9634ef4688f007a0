import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { setGroupActions } from '#console/group-tasks/group-actions-store.ts';
import { createGroupTaskForThreat, type CreatedGroupTask } from '#console/group-tasks/create-group-task.ts';

/**
 * Workstations and caught threats written straight into a console database, for tests of group tasks: members with
 * predictable ids and host names (`host-1`, `host-2`…, in creation order), online or never seen, and a malicious
 * object reported by one of them (the console builds the task's indicators from its SHA-256).
 */
export function groupFixture(db: () => Db) {
  let n = 0;
  return {
    async member(groupId: number, online = true): Promise<string> {
      const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
      await db().query(
        `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, group_id, last_seen_at, heartbeat_ms)
         VALUES ($1, $2, $3, 'x', now() + interval '1 day', $4, $5, 1000)`,
        [id, `host-${n}`, `serial-${n}`, groupId, online ? new Date().toISOString() : null],
      );
      return id;
    },
    async threat(groupId: number, sourceAgentId: string, sha256: string): Promise<CreatedGroupTask | undefined> {
      const out = await createGroupTaskForThreat(
        db(),
        { sourceAgentId, groupId, object: { sha256 }, fileName: 'x.exe', threat: 'Test' },
        { agents: 2, maxOpenPerSource: 1000 },
      );
      return 'made' in out ? out.made : undefined;
    },
  };
}

/** An in-memory console database with one group, `name`, whose threats make group tasks that scan `scope` and quarantine. */
export async function scanningGroupDb(name: string, scope: string[]): Promise<{ db: Db; groupId: number }> {
  const db = await openPgliteDb(undefined);
  await migrate(db);
  const groupId = (await db.query<{ id: number }>('INSERT INTO groups (name) VALUES ($1) RETURNING id', [name]))[0]!.id;
  await setGroupActions(db, groupId, { onThreat: { scan: true, quarantineOnMatch: true, scope } });
  return { db, groupId };
}
