import pg from 'pg';
import { SandgateError } from '@sandgate/shared';
import { INT8_OID, TIMESTAMPTZ_OID, parseInt8, parseTimestamptz, type Db, type Queryable } from './db.ts';

const types = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8_OID) return parseInt8;
    if (oid === TIMESTAMPTZ_OID) return parseTimestamptz;
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
  query: async <T>(sql: string, params?: unknown[]) => (await c.query(sql, params)).rows as T[],
  exec: async (sql) => {
    // Without parameters pg uses the simple query protocol, which accepts several statements.
    await c.query(sql);
  },
});

/** A PostgreSQL server through `DATABASE_URL`: a pool, so long-polls and page loads do not queue behind each other. */
export async function openPostgresDb(url: string, opts: { max?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, types });
  // An idle client losing its server is reported here; without a listener it would crash the console.
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new SandgateError('DATABASE_UNAVAILABLE', `The PostgreSQL server could not be reached: ${(err as Error).message}`, { cause: err });
  }
  const base = wrap(pool);
  return {
    kind: 'postgres',
    ...base,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
