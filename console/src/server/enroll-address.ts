import { hostname } from 'node:os';
import type { Db } from '../db/db.ts';

// Where workstations reach the console. `token create` prints a ready `sandgate enroll URL TOKEN` line, but it often
// runs straight on the database with no console in the process, so each `serve` writes the address it answers at
// into `console_settings` (one row per address: several processes on one database each add theirs) and the token
// command reads them back. A URL is only useful if its host is a name in the console's server certificate, so the
// address is built from the same names the certificate was made with.

const KEY_PREFIX = 'enroll_url ';

/**
 * The URL a workstation types: the first `--name`, else the listening host, else (listening on every interface)
 * this machine's host name, which the certificate always carries.
 */
export function enrollAddress(host: string, port: number, serverNames: readonly string[] = []): string {
  const wildcard = host === '0.0.0.0' || host === '::';
  const shown = serverNames[0] ?? (wildcard ? hostname() : host);
  return `https://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

/** Records that a console process answers at `url` (now). */
export async function recordEnrollAddress(db: Db, url: string, now = new Date()): Promise<void> {
  await db.query(`INSERT INTO console_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [
    KEY_PREFIX + url,
    now.toISOString(),
  ]);
}

/** Every address a console process on this database said it answers at, the most recently started first. */
export async function knownEnrollAddresses(db: Db): Promise<string[]> {
  const rows = await db.query<{ key: string; value: string }>(`SELECT key, value FROM console_settings WHERE key LIKE 'enroll\\_url %'`);
  return rows
    .filter((r) => r.key.startsWith(KEY_PREFIX))
    .sort((a, b) => b.value.localeCompare(a.value))
    .map((r) => r.key.slice(KEY_PREFIX.length));
}

/**
 * The line to run on a workstation, as `token create` prints it and the web console shows it: one builder for both.
 * Without a known address it names a placeholder for the administrator to fill in.
 */
export function enrollCommandLine(url: string | undefined, token: string, caFingerprint: string | undefined): string {
  return `sandgate enroll ${url ?? 'https://CONSOLE:8444'} ${token}${caFingerprint ? ` --ca-fingerprint ${caFingerprint}` : ''}`;
}
