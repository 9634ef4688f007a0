import { join } from 'node:path';
import type { Db } from './db.ts';
import { migrate } from './migrate.ts';

export interface DbLocation {
  /** A PostgreSQL server; wins over `dataDir`. */
  databaseUrl?: string | undefined;
  /** The console's data folder; the embedded database lives in `<dataDir>/pgdata`. */
  dataDir?: string | undefined;
}

/** Opens the database the options name (a server when a URL is given, PGlite otherwise) and brings its schema up to date. */
export async function openConsoleDb(loc: DbLocation): Promise<Db> {
  const db = loc.databaseUrl
    ? await (await import('./postgres-db.ts')).openPostgresDb(loc.databaseUrl)
    : await (await import('./pglite-db.ts')).openPgliteDb(loc.dataDir ? join(loc.dataDir, 'pgdata') : undefined);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
