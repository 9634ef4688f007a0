import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_EVENT_TYPES, eventsQuerySchema, FAILURE_EVENT_TYPES, THREAT_EVENT_TYPES, VERDICT_EVENT_TYPES } from '@sandgate/shared';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { pageEvents } from '#console/agents/event-pages.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';

const pg = postgresAvailability();
const targets = [
  { name: 'PGlite (in memory)', server: false },
  { name: pg.available ? 'a real PostgreSQL server' : `a real PostgreSQL server — SKIPPED: ${pg.reason}`, server: true },
];
const OFFICE = '00000000-0000-4000-8000-000000000001';
const LAB = '00000000-0000-4000-8000-000000000002';
const page = (db: Db, q: Record<string, string> = {}) => pageEvents(db, eventsQuerySchema.parse(q));

// The events view asks the database for one page: filtered there (severity, workstation, type), paged back by a cursor.
for (const target of targets) {
  describe.skipIf(target.server && !pg.available)(`the events list on ${target.name}`, () => {
    let server: TempPostgres | undefined;
    let db: Db;
    const insert = (agent: string, from: number, n: number, type: string, event: Record<string, unknown> = {}) =>
      db.query(
        `INSERT INTO agent_events (agent_id, seq, at, type, event, received_at)
         SELECT $1, s, now(), $2, jsonb_build_object('time', '2026-12-01T00:00:00.000Z', 'type', $2::text) || $3::jsonb,
                timestamptz '2026-12-01 00:00:00+00' + (s || ' milliseconds')::interval
           FROM generate_series($4::bigint, $4::bigint + $5::bigint - 1) AS s`,
        [agent, type, JSON.stringify(event), from, n],
      );

    beforeAll(async () => {
      if (target.server) server = startTempPostgres();
      db = target.server ? await openPostgresDb(server!.createDatabase('events')) : await openPgliteDb(undefined);
      await migrate(db);
      await db.query(`INSERT INTO groups (name) VALUES ('office')`);
      await db.query(
        `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, group_id, app_version, host)
         VALUES ($1, 'desk-1', 's1', 'x', now() + interval '1 year', (SELECT id FROM groups WHERE name = 'office'), '0.1.0', '{}'),
                ($2, 'lab-vm', 's2', 'x', now() + interval '1 year', NULL, '0.1.0', '{}')`,
        [OFFICE, LAB],
      );
      // Oldest first: three threats, a failure and a clean verdict on the office desk, then 300 routine events from
      // both workstations, all newer: the threats are far behind the latest 100.
      await insert(OFFICE, 1, 2, 'quarantined', { sha256: 'a'.repeat(64) });
      await insert(OFFICE, 3, 1, 'verdict', { level: 'malicious', threat: 'EICAR' });
      await insert(OFFICE, 4, 1, 'server-error', { code: 'SERVER_UNAVAILABLE' });
      await insert(OFFICE, 5, 1, 'verdict', { level: 'clean' });
      await insert(OFFICE, 100, 150, 'object-accepted');
      await insert(LAB, 100, 150, 'object-submitted');
    }, 120_000);
    afterAll(async () => {
      await db?.close();
      server?.stop();
    });

    it('finds every threat however far back, and names workstations and groups, not ids', async () => {
      const threats = await page(db, { severity: 'threat' });
      expect(threats.map((e) => [e.type, e.seq])).toEqual([
        ['verdict', 3],
        ['quarantined', 2],
        ['quarantined', 1],
      ]);
      expect(threats.every((e) => e.severity === 'threat' && e.hostname === 'desk-1' && e.group_name === 'office')).toBe(true);
      const failures = await page(db, { severity: 'failure' });
      expect(failures.map((e) => e.type)).toEqual(['server-error']);
      const info = await page(db, { severity: 'info', limit: '1000' });
      expect(info).toHaveLength(301); // the clean verdict and the 300 routine events
      expect(info.some((e) => e.type === 'verdict' && e.seq === 5)).toBe(true);
    });

    it('filters by workstation and by type', async () => {
      const lab = await page(db, { agent: LAB, limit: '1000' });
      expect(lab).toHaveLength(150);
      expect(lab.every((e) => e.hostname === 'lab-vm' && e.group_name === null)).toBe(true);
      expect((await page(db, { type: 'verdict' })).map((e) => e.event['level'])).toEqual(['clean', 'malicious']);
      expect(await page(db, { agent: LAB, severity: 'threat' })).toEqual([]);
    });

    it('pages back through every event once, newest first, even while new ones arrive', async () => {
      const seen: string[] = [];
      let before: string | undefined;
      let extra = 1000;
      for (;;) {
        const p = await page(db, { limit: '40', ...(before ? { before } : {}) });
        if (!p.length) break;
        seen.push(...p.map((e) => `${e.agent_id}:${e.seq}`));
        before = p.at(-1)!.cursor;
        // A newer event arriving between two pages moves nothing on the pages after it.
        await db.query(
          `INSERT INTO agent_events (agent_id, seq, at, type, event) VALUES ($1, $2, now(), 'policy-reloaded', '{"type":"policy-reloaded"}')`,
          [LAB, extra++],
        );
      }
      expect(seen).toHaveLength(305);
      expect(new Set(seen).size).toBe(305);
      expect(seen.at(-1)).toBe(`${OFFICE}:1`);
    });
  });
}

describe('the events query', () => {
  it('refuses a severity, a type, a workstation or a cursor it does not know before SQL sees it', () => {
    expect(eventsQuerySchema.safeParse({ severity: 'threat; DROP TABLE agent_events' }).success).toBe(false);
    expect(eventsQuerySchema.safeParse({ type: "x' OR 1=1" }).success).toBe(false);
    expect(eventsQuerySchema.safeParse({ agent: 'desk-1' }).success).toBe(false);
    expect(eventsQuerySchema.safeParse({ before: '2026-12-01T00:00:00Z|a|1' }).success).toBe(false);
    expect(eventsQuerySchema.safeParse({ before: `2026-12-01T00:00:00.000123Z|${OFFICE}|7` }).success).toBe(true);
  });

  it('sorts into severities only event types the agents write', () => {
    for (const t of [...THREAT_EVENT_TYPES, ...VERDICT_EVENT_TYPES, ...FAILURE_EVENT_TYPES]) expect(AGENT_EVENT_TYPES).toContain(t);
  });
});
