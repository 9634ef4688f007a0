import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { migrate } from '#console/db/migrate.ts';
import type { Db } from '#console/db/db.ts';
import { loadOrCreateCa } from '#console/pki/console-ca.ts';
import { completePromotion, retireCa, rotateCa } from '#console/pki/ca-rotation.ts';
import { checkSharedCa } from '#console/server/shared-ca-check.ts';

// A console stopped at any step of a CA retirement starts again with the folder and the database agreeing, and never
// with a CA certificate beside another CA's key.
describe('retiring the old console CA', { timeout: 120_000 }, () => {
  let dataDir: string;
  let db: Db;
  const settings = async () =>
    Object.fromEntries(
      (await db.query<{ key: string; value: string }>(`SELECT key, value FROM console_settings WHERE key LIKE 'ca%'`)).map((r) => [
        r.key,
        r.value,
      ]),
    );
  const start = async () => {
    completePromotion(dataDir);
    const ca = loadOrCreateCa(dataDir);
    await checkSharedCa(db, ca, join(dataDir, 'ca'));
    return ca;
  };

  afterEach(async () => {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const setUp = async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-ca-crash-'));
    db = await openPgliteDb(undefined);
    await migrate(db);
    const first = await start();
    const rotated = await rotateCa(db, dataDir);
    return { old: first.fingerprint, next: rotated.next };
  };

  it('between the files and the database: the next start finishes the database part', async () => {
    const { next } = await setUp();
    // The file part of `retire`, then a crash before the database was told: what retireCa does, minus its last step.
    renameSync(join(dataDir, 'ca', 'new-ca-key.pem'), join(dataDir, 'ca', 'ca-key.pem'));
    renameSync(join(dataDir, 'ca', 'new-ca-cert.pem'), join(dataDir, 'ca', 'ca-cert.pem'));
    const ca = await start();
    expect(ca.fingerprint).toBe(next);
    expect(ca.next).toBeUndefined();
    expect(await settings()).toEqual({ ca_sha256: next });
  });

  it('between the two renames: the new certificate is moved into place beside its key', async () => {
    const { next } = await setUp();
    renameSync(join(dataDir, 'ca', 'new-ca-key.pem'), join(dataDir, 'ca', 'ca-key.pem'));
    const ca = await start();
    expect(ca.fingerprint).toBe(next);
    expect(existsSync(join(dataDir, 'ca', 'new-ca-cert.pem'))).toBe(false);
    // The server certificate was re-issued by the CA now in service: it signs, and the pair is whole.
    expect(ca.signEnrollmentCsr).toBeTypeOf('function');
    expect(await settings()).toEqual({ ca_sha256: next });
  });

  it('a whole retirement: the old CA kept under retired/, the database moved on, a second retire refused', async () => {
    const { old, next } = await setUp();
    const out = await retireCa(db, dataDir, true);
    expect(out).toMatchObject({ retired: old, inService: next });
    expect(existsSync(join(dataDir, 'ca', 'retired', `${old}.pem`))).toBe(true);
    expect((await start()).fingerprint).toBe(next);
    await expect(retireCa(db, dataDir, true)).rejects.toMatchObject({ code: 'CONSOLE_CA_ROTATION_STATE' });
  });

  it('retire is refused while a workstation that moved does not report pinning the new CA (an agent older than CA rotation)', async () => {
    const { old, next } = await setUp();
    const agent = (id: string, ca: string, trust: string | null) =>
      db.query(
        `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, cert_ca_sha256, trust_cas)
         VALUES ($1, 'ws', $1, 'x', now() + interval '300 days', $2, $3)`,
        [id, ca, trust],
      );
    await agent('moved-and-pins-both', next, [old, next].sort().join(','));
    await agent('moved-but-old-version', next, null);
    await expect(retireCa(db, dataDir, false)).rejects.toMatchObject({ code: 'CONSOLE_CA_ROTATION_STATE', params: { agentsLeft: 1 } });
    await db.query(`UPDATE agents SET revoked_at = now() WHERE id = 'moved-but-old-version'`);
    expect(await retireCa(db, dataDir, false)).toMatchObject({ inService: next, agentsLeft: 0 });
  });
});
