import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentsQuerySchema } from '@sandgate/shared';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { pageAgents } from '#console/agents/agents.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';

const pg = postgresAvailability();
const targets = [
  { name: 'PGlite (in memory)', server: false },
  { name: pg.available ? 'a real PostgreSQL server' : `a real PostgreSQL server — SKIPPED: ${pg.reason}`, server: true },
];
const FLEET = 2_000;
const page = (db: Db, q: Record<string, string> = {}) => pageAgents(db, agentsQuerySchema.parse(q));

// The workstations view asks the database for one page: filtered, sorted, counted there, at fleet size.
for (const target of targets) {
  describe.skipIf(target.server && !pg.available)(`the workstations list on ${target.name}`, () => {
    let server: TempPostgres | undefined;
    let db: Db;

    beforeAll(async () => {
      if (target.server) server = startTempPostgres();
      db = target.server ? await openPostgresDb(server!.createDatabase('pages')) : await openPgliteDb(undefined);
      await migrate(db);
      await db.query(`INSERT INTO groups (name) VALUES ('office'), ('lab')`);
      // 2,000 workstations: every 10th online (a fresh heartbeat), every 100th revoked, half in each group, and two
      // named alike ("vm") as on a real fleet; one host name holds the characters LIKE treats specially.
      await db.query(
        `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, group_id, app_version, host,
                             last_seen_at, heartbeat_ms, revoked_at)
         SELECT 'agent-' || lpad(i::text, 5, '0'),
                CASE WHEN i <= 2 THEN 'vm' WHEN i = 3 THEN 'odd_100%' ELSE 'ws-' || lpad(i::text, 5, '0') END,
                'serial-' || i, 'sha', now() + (i || ' days')::interval,
                (SELECT id FROM groups WHERE name = CASE WHEN i % 2 = 0 THEN 'office' ELSE 'lab' END),
                CASE WHEN i % 3 = 0 THEN '0.2.0' ELSE '0.1.0' END, '{"hostname":"x","platform":"linux","release":"6","arch":"x64"}',
                CASE WHEN i % 10 = 0 THEN now() ELSE now() - interval '1 hour' END, 30000,
                CASE WHEN i % 100 = 0 THEN now() ELSE NULL END
           FROM generate_series(1, ${FLEET}) AS i`,
      );
    }, 120_000);
    afterAll(async () => {
      await db?.close();
      server?.stop();
    });

    it('counts the fleet by state and answers one page, not the fleet', async () => {
      const p = await page(db, { limit: '100' });
      expect(p.agents).toHaveLength(100);
      expect(p.total).toBe(FLEET);
      // Every 10th has a fresh heartbeat, but every 100th of those is revoked: 200 - 20 online.
      expect(p.counts).toEqual({ all: FLEET, online: 180, revoked: 20, offline: FLEET - 180 - 20 });
    });

    it('pages through every workstation once, in order, without overlap', async () => {
      const seen: string[] = [];
      for (let offset = 0; offset < FLEET; offset += 500) {
        const p = await page(db, { limit: '500', offset: String(offset), sort: 'hostname' });
        seen.push(...p.agents.map((a) => a.id));
      }
      expect(seen).toHaveLength(FLEET);
      expect(new Set(seen).size).toBe(FLEET);
      const desc = await page(db, { limit: '3', sort: 'cert_not_after', order: 'desc' });
      expect(desc.agents.map((a) => a.id)).toEqual(['agent-02000', 'agent-01999', 'agent-01998']);
    });

    it('filters by what a person types and by state, and the total follows the filter', async () => {
      const vms = await page(db, { q: 'VM' });
      expect(vms.agents.map((a) => a.id)).toEqual(['agent-00001', 'agent-00002']);
      expect(vms.total).toBe(2);
      expect((await page(db, { q: 'agent-0150' })).total).toBe(10); // by id
      expect((await page(db, { q: 'office', limit: '1' })).total).toBe(FLEET / 2); // by group
      const online = await page(db, { state: 'online', limit: '1000' });
      expect(online.total).toBe(180);
      expect(online.agents.every((a) => a.online)).toBe(true);
      expect((await page(db, { state: 'revoked' })).agents.every((a) => a.revoked_at !== null)).toBe(true);
    });

    it('takes % and _ as the characters typed, not as patterns', async () => {
      expect((await page(db, { q: '%' })).agents.map((a) => a.hostname)).toEqual(['odd_100%']);
      expect((await page(db, { q: 'odd_' })).total).toBe(1);
      expect((await page(db, { q: '_' })).total).toBe(1);
    });
  });
}

describe('the workstations list query', () => {
  it('refuses a sort column, state or page it does not know before SQL sees it', () => {
    expect(agentsQuerySchema.safeParse({ sort: 'hostname; DROP TABLE agents' }).success).toBe(false);
    expect(agentsQuerySchema.safeParse({ state: 'everything' }).success).toBe(false);
    expect(agentsQuerySchema.safeParse({ offset: '-1' }).success).toBe(false);
    expect(agentsQuerySchema.safeParse({ limit: '100000' }).success).toBe(false);
  });
});
