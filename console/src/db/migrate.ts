import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import type { Db } from './db.ts';

export const MIGRATIONS_DIR = join(import.meta.dirname, '..', '..', 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** `NNN-name.sql` files, in version order; a gap or a duplicate number is a packaging error and stops the console. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const list = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => {
      const m = /^(\d+)-([a-z0-9-]+)\.sql$/.exec(f);
      if (!m) throw new SandgateError('DATABASE_UNAVAILABLE', `Migration file name not NNN-name.sql: ${f}`);
      return { version: Number(m[1]), name: m[2]!, sql: readFileSync(join(dir, f), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  list.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new SandgateError('DATABASE_UNAVAILABLE', `Migrations must be numbered 1, 2, 3…; found ${m.version} at position ${i + 1}`);
  });
  return list;
}

// Any constant: two consoles starting on one server take turns instead of both applying migration 1.
const MIGRATION_LOCK = 804_2026;

/** Applies every migration not yet recorded in `schema_migrations`, each in its own transaction. Returns those applied. */
export async function migrate(db: Db, migrations = readMigrations()): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: number[] = [];
  for (const m of migrations) {
    const did = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (done.length) return false;
      try {
        await tx.exec(m.sql);
      } catch (err) {
        throw new SandgateError('DATABASE_UNAVAILABLE', `Migration ${m.version}-${m.name} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (did) applied.push(m.version);
  }
  const newer = await db.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
  const max = newer[0]?.v ?? 0;
  if (max > migrations.length) {
    throw new SandgateError(
      'DATABASE_UNAVAILABLE',
      `The database has schema version ${max}, newer than this console (${migrations.length}); upgrade the console`,
    );
  }
  return applied;
}
