import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { addUser } from '#console/users/users.ts';
import { isKnownClient, rememberKnownClient } from '#console/users/known-clients.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';

const pg = postgresAvailability();
const targets = [
  { name: 'PGlite (in memory)', server: false },
  { name: pg.available ? 'a real PostgreSQL server' : `a real PostgreSQL server — SKIPPED: ${pg.reason}`, server: true },
];

// The login throttle's "addresses this user logged in from" (migration 007), on both databases the console runs on.
for (const target of targets) {
  describe.skipIf(target.server && !pg.available)(`known login addresses on ${target.name}`, () => {
    let server: TempPostgres | undefined;
    let db: Db;

    beforeAll(async () => {
      if (target.server) server = startTempPostgres();
      db = target.server ? await openPostgresDb(server!.createDatabase('known')) : await openPgliteDb(undefined);
      await migrate(db);
      await addUser(db, 'ada', 'admin', 'a long enough password');
    }, 120_000);
    afterAll(async () => {
      await db?.close();
      server?.stop();
    });

    it('an address counts as the user own once they logged in from it, for that user only, and for 90 days after the last time', async () => {
      expect(await isKnownClient(db, 'ada', '10.0.0.1')).toBe(false);
      await rememberKnownClient(db, 'ada', '10.0.0.1');
      await rememberKnownClient(db, 'ada', '10.0.0.1');
      expect(await isKnownClient(db, 'ada', '10.0.0.1')).toBe(true);
      expect(await isKnownClient(db, 'ada', '10.0.0.2')).toBe(false);
      expect(await isKnownClient(db, 'bob', '10.0.0.1')).toBe(false);
      await db.query("UPDATE login_known_clients SET last_ok_at = now() - interval '91 days' WHERE user_name = 'ada'");
      expect(await isKnownClient(db, 'ada', '10.0.0.1')).toBe(false);
    });

    it('is forgotten with the user', async () => {
      await rememberKnownClient(db, 'ada', '10.0.0.3');
      await db.query("DELETE FROM users WHERE name = 'ada'");
      expect(await db.query('SELECT 1 FROM login_known_clients')).toEqual([]);
    });
  });
}
