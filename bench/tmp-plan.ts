import { startTempPostgres } from '../test/helpers/postgres.ts';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { setGroupActions } from '#console/group-tasks/group-actions-store.ts';
import { createGroupTaskForThreat } from '#console/group-tasks/create-group-task.ts';
import { pollChecks } from '#console/agents/poll-check.ts';
import { deliverableTasksFor } from '#console/group-tasks/deliverable-tasks.ts';
import { authenticateAgents } from '#console/agents/agents.ts';
import { recordShareReports } from '#console/group-tasks/group-tasks.ts';

const pg = await startTempPostgres();
const db = await openPostgresDb(pg.url, { max: 4 });
await migrate(db);
const g = (await db.query<{ id: number }>("INSERT INTO groups (name) VALUES ('g') RETURNING id"))[0]!.id;
await setGroupActions(db, g, { onThreat: { scan: true, quarantineOnMatch: true, scope: ['~/Downloads'] } });
const N = 10000;
const ids = Array.from({ length: N }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
await db.query(`INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, group_id, last_seen_at, heartbeat_ms)
  SELECT x, 'h-' || x, 's-' || x, 'x', now() + interval '1 day', $2, now(), 1000 FROM unnest($1::text[]) x`, [ids, g]);
await db.query('ANALYZE');
let t = performance.now();
const out = await createGroupTaskForThreat(db, { sourceAgentId: ids[0]!, groupId: g, object: { sha256: 'a'.repeat(64) } }, { agents: 2, maxOpenPerSource: 100 });
console.log('create', (performance.now() - t).toFixed(0), 'ms', 'made' in out);
const CA = { fingerprint: 'a'.repeat(64), renewalFingerprint: 'a'.repeat(64), trustFingerprints: ['a'.repeat(64)] };
const batch = ids.slice(1, 501);
for (let r = 0; r < 3; r++) {
  t = performance.now(); await pollChecks(db, batch.map((a) => ({ agentId: a, certSerial: 's-' + a })), CA); console.log('pollChecks 500', (performance.now() - t).toFixed(0));
}
t = performance.now(); const d = await deliverableTasksFor(db, batch); console.log('deliver 500', (performance.now() - t).toFixed(0), [...d.values()].filter((x) => x.length).length);
t = performance.now(); await deliverableTasksFor(db, ids.slice(501, 1001)); console.log('deliver 500 (2)', (performance.now() - t).toFixed(0));
t = performance.now(); await authenticateAgents(db, batch.map((a) => ({ agentId: a, certSerial: 's-' + a }))); console.log('auth 500', (performance.now() - t).toFixed(0));
const shares = await db.query<{ id: string; agent_id: string }>('SELECT id, agent_id FROM agent_tasks WHERE agent_id = ANY($1::text[])', [batch]);
t = performance.now(); await recordShareReports(db, shares.map((s) => ({ agentId: s.agent_id, progress: { taskId: s.id, state: 'received', matches: [] } }))); console.log('reports 500', (performance.now() - t).toFixed(0));
t = performance.now(); await pollChecks(db, batch.map((a) => ({ agentId: a, certSerial: 's-' + a })), CA); console.log('pollChecks 500 after', (performance.now() - t).toFixed(0));
await db.close(); await pg.stop();
