import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { SandgateError } from '@sandgate/shared';
import { INT8_OID, TIMESTAMPTZ_OID, parseInt8, parseTimestamptz, type Db, type Queryable } from './db.ts';

interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
}

const wrap = (c: PgliteLike): Queryable => ({
  query: async <T>(sql: string, params?: unknown[]) => (await c.query<T>(sql, params)).rows,
  exec: async (sql) => {
    await c.exec(sql);
  },
});

/**
 * PostgreSQL in this process (PGlite, WebAssembly). One process only may open a data folder at a time: the console's
 * CLI hands its work to a running `serve` over the control socket instead of opening the folder itself.
 * `dataDir` undefined keeps everything in memory (tests).
 */
export async function openPgliteDb(dataDir: string | undefined): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let pg: PGlite;
  try {
    pg = await PGlite.create({
      ...(dataDir ? { dataDir } : {}),
      parsers: { [INT8_OID]: parseInt8, [TIMESTAMPTZ_OID]: parseTimestamptz },
    });
  } catch (err) {
    throw new SandgateError(
      'DATABASE_UNAVAILABLE',
      `The embedded database in ${dataDir ?? 'memory'} could not be opened: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const base = wrap(pg);
  return {
    kind: 'pglite',
    ...base,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
  };
}
