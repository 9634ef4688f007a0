import { join } from 'node:path';
import type { Db } from './db.ts';
import { migrate } from './migrate.ts';

export interface DbLocation {
  /** A PostgreSQL server; wins over `dataDir`. */
  databaseUrl?: string | undefined;
  /** The console's data folder; the embedded database lives in `<dataDir>/pgdata`. */
  dataDir?: string | undefined;
}

/**
 * Connections to a PostgreSQL server. A fan-out to 10,000 workstations queues tens of thousands of short queries; while
 * the console's one thread is busy with TLS each answer waits for it, so throughput is connections ÷ that wait
 * (bench/console-load.ts: 10 connections took 24.8 s to reach 10,000 agents). Opened on demand, so an idle console
 * holds few; PostgreSQL's default max_connections is 100.
 */
const SERVER_POOL = 32;

/** Opens the database the options name (a server when a URL is given, PGlite otherwise) and brings its schema up to date. */
export async function openConsoleDb(loc: DbLocation): Promise<Db> {
  const db = loc.databaseUrl
    ? await (await import('./postgres-db.ts')).openPostgresDb(loc.databaseUrl, { max: SERVER_POOL })
    : await (await import('./pglite-db.ts')).openPgliteDb(loc.dataDir ? join(loc.dataDir, 'pgdata') : undefined);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
