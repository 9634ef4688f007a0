/**
 * The console's one way to its state. Two implementations, PGlite (embedded, in this process) and a PostgreSQL
 * server (`pg`), run the same SQL: stick to SQL both accept, with `$1` parameters. Both return int8 as a JS number
 * and timestamptz as an ISO 8601 string, so callers never see a driver's own types.
 */
export interface Queryable {
  /** One statement with `$n` parameters; the rows it returns. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * LISTEN on `channel` over a connection of its own, for messages other connections (other console processes)
   * send with `pg_notify`. `onGap` is called after the connection was lost and made again: messages sent meanwhile
   * are gone. Only for a PostgreSQL server: PGlite is one process, whose wake-ups stay in memory. Resolves to what
   * stops listening.
   */
  listen?(channel: string, onMessage: (payload: string) => void, onGap: () => void): Promise<() => Promise<void>>;
}

/** OIDs of the types both drivers are told to parse the same way. */
export const INT8_OID = 20;
export const TIMESTAMPTZ_OID = 1184;

export const parseInt8 = (v: string): number => {
  const n = Number(v);
  // Beyond 2^53 a number would silently round; ids and byte offsets never get there, and if one does we want to know.
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${v} does not fit a JavaScript number`);
  return n;
};
export const parseTimestamptz = (v: string): string => new Date(v).toISOString();
