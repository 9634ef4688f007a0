import { SandgateError } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { recordRetirement } from '../pki/ca-rotation.ts';

/**
 * Every console process on one database must present the CA its agents pin and sign with it: an agent failing over
 * to a process with another CA would refuse its certificate (and that process would refuse the agent's). The first
 * process to start records its CA's SHA-256; any later one with a different CA stops at start, naming both. During a
 * CA rotation the new CA must be in the folder too (`new-ca-cert.pem`): renewed agents present certificates of it.
 *
 * A retirement whose folder part was done and whose database part was not (a crash between them) is finished here:
 * the folder's CA in service is then the database's new CA, and the folder has no new CA left.
 */
export async function checkSharedCa(
  db: Db,
  ca: { fingerprint: string; next?: { fingerprint: string } | undefined },
  caDir: string,
): Promise<void> {
  await db.query(`INSERT INTO console_settings (key, value) VALUES ('ca_sha256', $1) ON CONFLICT (key) DO NOTHING`, [ca.fingerprint]);
  const rows = await db.query<{ key: string; value: string }>(
    `SELECT key, value FROM console_settings WHERE key IN ('ca_sha256', 'ca_next_sha256')`,
  );
  let recorded = rows.find((r) => r.key === 'ca_sha256')?.value;
  let next = rows.find((r) => r.key === 'ca_next_sha256')?.value;
  if (recorded && next && next === ca.fingerprint && !ca.next) {
    await recordRetirement(db, recorded, next);
    recorded = next;
    next = undefined;
  }
  if (recorded !== ca.fingerprint) {
    throw new SandgateError(
      'CONSOLE_CONFIG_INVALID',
      `The console CA in ${caDir} (SHA-256 ${ca.fingerprint}) is not the CA of the console processes already using this database (${recorded ?? 'none'}): ` +
        `copy ca-cert.pem and ca-key.pem from the first console's <data>/ca/ into ${caDir} before starting this one (during a CA rotation, new-ca-cert.pem and new-ca-key.pem too)`,
      { params: { key: 'ca', expected: recorded ?? null, found: ca.fingerprint } },
    );
  }
  if ((next ?? null) !== (ca.next?.fingerprint ?? null)) {
    throw new SandgateError(
      'CONSOLE_CONFIG_INVALID',
      `The new CA in ${caDir} (${ca.next?.fingerprint ?? 'none'}) is not the one of the CA rotation recorded in this database (${next ?? 'none'}): ` +
        `copy new-ca-cert.pem and new-ca-key.pem from the console process that ran "ca rotate" into ${caDir}, or remove them there when the rotation is over`,
      { params: { key: 'ca', expected: next ?? null, found: ca.next?.fingerprint ?? null } },
    );
  }
}
