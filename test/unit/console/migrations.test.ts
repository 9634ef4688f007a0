import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import { MIGRATIONS_DIR, migrate, readMigrations } from '#console/db/migrate.ts';
import { addUser, checkLogin } from '#console/users/users.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';

const pg = postgresAvailability();
const targets = [
  { name: 'PGlite (in memory)', server: false },
  { name: pg.available ? 'a real PostgreSQL server' : `a real PostgreSQL server — SKIPPED: ${pg.reason}`, server: true },
];

for (const target of targets) {
  describe.skipIf(target.server && !pg.available)(`migrations on ${target.name}`, () => {
    let server: TempPostgres | undefined;
    let db: Db;
    let n = 0;
    const fresh = async (): Promise<Db> => (target.server ? openPostgresDb(server!.createDatabase(`m${++n}`)) : openPgliteDb(undefined));

    beforeAll(async () => {
      if (target.server) server = startTempPostgres();
      db = await fresh();
    }, 120_000);
    afterAll(async () => {
      await db?.close();
      server?.stop();
    });

    it('apply every numbered file once and record them; a second run applies nothing', async () => {
      const all = readMigrations().map((m) => m.version);
      expect(await migrate(db)).toEqual(all);
      expect(await migrate(db)).toEqual([]);
      const rows = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(all);
      expect(rows[0]!.name).toBe('initial');
    });

    it('leave a schema the console can use: int8 as numbers, timestamps as ISO strings, json as objects', async () => {
      await addUser(db, 'ada', 'admin', 'a long enough password');
      expect(await checkLogin(db, 'ada', 'a long enough password')).toMatchObject({ name: 'ada', role: 'admin', id: expect.any(Number) });
      const [row] = await db.query<{ id: number; at: string; details: unknown }>(
        "INSERT INTO audit_log (actor, action, outcome, details) VALUES ('t', 't', 'ok', $1) RETURNING id, at, details",
        [JSON.stringify({ a: 1 })],
      );
      expect(typeof row!.id).toBe('number');
      expect(row!.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(row!.details).toEqual({ a: 1 });
    });

    it('roll a transaction back when it throws', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO groups (name) VALUES ('rolled-back')");
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await db.query("SELECT 1 FROM groups WHERE name = 'rolled-back'")).toEqual([]);
    });

    it('a failing migration leaves nothing half applied and says which one', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sandgate-migrations-'));
      try {
        cpSync(MIGRATIONS_DIR, dir, { recursive: true });
        writeFileSync(
          join(dir, `${String(readMigrations().length + 1).padStart(3, '0')}-broken.sql`),
          'CREATE TABLE half (id int);\nSELECT nonsense FROM nowhere;\n',
        );
        const other = await fresh();
        try {
          await expect(migrate(other, readMigrations(dir))).rejects.toMatchObject({
            code: 'DATABASE_UNAVAILABLE',
            message: expect.stringMatching(/-broken failed/),
          });
          expect(await other.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'")).toEqual([]);
        } finally {
          await other.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
}
