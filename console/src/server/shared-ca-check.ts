import { SandgateError } from '@sandgate/shared';
import type { Db } from '../db/db.ts';

/**
 * Every console process on one database must present the CA its agents pin and sign with it: an agent failing over
 * to a process with another CA would refuse its certificate (and that process would refuse the agent's). The first
 * process to start records its CA's SHA-256; any later one with a different CA stops at start, naming both.
 */
export async function checkSharedCa(db: Db, caSha256: string, caDir: string): Promise<void> {
  await db.query(`INSERT INTO console_settings (key, value) VALUES ('ca_sha256', $1) ON CONFLICT (key) DO NOTHING`, [caSha256]);
  const rows = await db.query<{ value: string }>(`SELECT value FROM console_settings WHERE key = 'ca_sha256'`);
  const recorded = rows[0]?.value;
  if (recorded !== caSha256) {
    throw new SandgateError(
      'CONSOLE_CONFIG_INVALID',
      `The console CA in ${caDir} (SHA-256 ${caSha256}) is not the CA of the console processes already using this database (${recorded ?? 'none'}): ` +
        `copy ca-cert.pem and ca-key.pem from the first console's <data>/ca/ into ${caDir} before starting this one`,
      { params: { key: 'ca', expected: recorded ?? null, found: caSha256 } },
    );
  }
}
