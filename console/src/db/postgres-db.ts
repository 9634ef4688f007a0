import { createHash } from 'node:crypto';
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

/**
 * Statements with parameters run as named prepared statements, planned once per connection: the long-poll's check
 * costs 0.9 ms planned afresh each time and 0.3 ms prepared (measured on this machine), and at 10,000 agents it
 * runs hundreds of times a second. Names come from the text's hash, so one text is one statement; after
 * `MAX_PREPARED` distinct texts (batched inserts vary in length) further ones run unprepared, which bounds the memory
 * each server connection spends on them.
 */
const MAX_PREPARED = 500;
const preparedNames = new Map<string, string>();
function statementName(sql: string): string | undefined {
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `sg_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    preparedNames.set(sql, name);
  }
  return name;
}

const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
  query: async <T>(sql: string, params?: unknown[]) => {
    const name = params?.length ? statementName(sql) : undefined;
    return (await c.query(name ? { name, text: sql, values: params } : { text: sql, values: params })).rows as T[];
  },
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
    throw new SandgateError('DATABASE_UNAVAILABLE', `The PostgreSQL server could not be reached: ${(err as Error).message}`, {
      cause: err,
    });
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
    listen: (channel, onMessage, onGap) => listenOn(url, channel, onMessage, onGap),
  };
}

/**
 * One client outside the pool, LISTENing; made again after it is lost (1 s doubling to 30 s), each time followed by
 * `onGap`. The first connection must succeed: a console that cannot listen would miss the others' wake-ups silently.
 */
async function listenOn(
  url: string,
  channel: string,
  onMessage: (payload: string) => void,
  onGap: () => void,
): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new RangeError(`not a channel name: ${channel}`);
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let delay = 1000;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, types });
    const lost = () => {
      if (client !== c) return;
      client = undefined;
      c.end().catch(() => {});
      if (!stopped) retry = setTimeout(reconnect, delay);
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', (n) => {
      if (n.channel === channel && n.payload !== undefined) onMessage(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    client = c;
  };
  const reconnect = () => {
    retry = undefined;
    connect().then(
      () => {
        delay = 1000;
        onGap();
      },
      () => {
        delay = Math.min(delay * 2, 30_000);
        if (!stopped) retry = setTimeout(reconnect, delay);
      },
    );
  };
  try {
    await connect();
  } catch (err) {
    throw new SandgateError('DATABASE_UNAVAILABLE', `The PostgreSQL server could not be reached to LISTEN: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const c = client;
    client = undefined;
    await c?.end().catch(() => {});
  };
}
