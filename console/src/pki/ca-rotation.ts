import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import type { Db, Queryable } from '../db/db.ts';
import { CA_FILES, caDir, makeCa } from './console-ca.ts';
import { certificateFingerprint } from './fingerprint.ts';

/**
 * CA rotation, the files and the database (console/DESIGN.md, "CA rotation"). `<data>/ca/ca-cert.pem` is always the
 * CA in service (server certificate, enrollments, what `token create` prints); `new-ca-cert.pem` is the new CA while
 * a rotation is under way. `console_settings` holds `ca_sha256` (in service) and `ca_next_sha256` (the new one), so
 * every console process on the database can check its folder against them at start.
 */

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The SHA-256 of the new CA in the folder, or undefined when no rotation is under way there. */
export function nextCaFingerprint(dataDir: string): string | undefined {
  const file = join(caDir(dataDir), CA_FILES.nextCert);
  return existsSync(file) ? certificateFingerprint(readFileSync(file, 'utf8')) : undefined;
}

export function inServiceFingerprint(dataDir: string): string {
  return certificateFingerprint(readFileSync(join(caDir(dataDir), CA_FILES.cert), 'utf8'));
}

export async function caSettings(db: Queryable): Promise<{ current?: string; next?: string }> {
  const rows = await db.query<{ key: string; value: string }>(
    `SELECT key, value FROM console_settings WHERE key IN ('ca_sha256', 'ca_next_sha256')`,
  );
  const get = (k: string) => rows.find((r) => r.key === k)?.value;
  const current = get('ca_sha256');
  const next = get('ca_next_sha256');
  return { ...(current ? { current } : {}), ...(next ? { next } : {}) };
}

/**
 * `sandgate-console ca rotate`: makes the new CA beside the one in service (key first, certificate last: the
 * certificate's presence says "rotating") and records it for the other console processes. Refused while a rotation
 * is under way.
 */
export async function rotateCa(db: Db, dataDir: string): Promise<{ inService: string; next: string; notAfter: string }> {
  const s = await caSettings(db);
  const dir = caDir(dataDir);
  if (nextCaFingerprint(dataDir) || s.next)
    throw new SandgateError(
      'CONSOLE_CA_ROTATION_STATE',
      `a CA rotation is already under way (new CA ${s.next ?? nextCaFingerprint(dataDir)}): retire the old CA first (sandgate-console ca retire)`,
      { params: { state: 'rotating' } },
    );
  const inService = inServiceFingerprint(dataDir);
  if (s.current && s.current !== inService)
    throw new SandgateError(
      'CONSOLE_CONFIG_INVALID',
      `the CA in ${dir} (${inService}) is not the one this database records (${s.current})`,
      {
        params: { key: 'ca', expected: s.current, found: inService },
      },
    );
  const made = makeCa(new Date().toISOString().slice(0, 10) + ' ' + Math.random().toString(16).slice(2, 8));
  writePrivate(join(dir, CA_FILES.nextKey), made.keyPem);
  writePrivate(join(dir, CA_FILES.nextCert), made.certPem);
  const next = certificateFingerprint(made.certPem);
  await db.query(`INSERT INTO console_settings (key, value) VALUES ('ca_next_sha256', $1)`, [next]);
  const notAfter = new Date(readCertNotAfter(made.certPem)).toISOString();
  return { inService, next, notAfter };
}

function readCertNotAfter(pem: string): number {
  return Date.parse(new X509Certificate(pem).validTo);
}

/**
 * Workstations (not revoked) that would lose the console if the old CA were retired now: their certificate is still
 * from the old CA, or they do not report pinning the new one (agents older than CA rotation report nothing, and keep
 * pinning the old CA alone even after renewing from the new one).
 */
export async function agentsNotReady(db: Queryable, oldCa: string, newCa: string): Promise<number> {
  const rows = await db.query<{ n: string | number }>(
    `SELECT count(*) AS n FROM agents
      WHERE revoked_at IS NULL
        AND (coalesce(cert_ca_sha256, $1) = $1 OR trust_cas IS NULL OR NOT ($2 = ANY (string_to_array(trust_cas, ','))))`,
    [oldCa, newCa],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * `sandgate-console ca retire [--force]`: the new CA takes the old one's place. Refused while workstations (not
 * revoked) are not ready (`agentsNotReady`), unless `force`: they then show as "on a retired CA" and must enroll
 * again. The folder first (the old certificate kept under `retired/`, its key deleted), then the database; a start
 * after a crash between the two finishes the database part (`checkSharedCa`).
 */
export async function retireCa(
  db: Db,
  dataDir: string,
  force: boolean,
): Promise<{ retired: string; inService: string; agentsLeft: number }> {
  const s = await caSettings(db);
  const next = nextCaFingerprint(dataDir);
  if (!next || !s.next)
    throw new SandgateError('CONSOLE_CA_ROTATION_STATE', 'no CA rotation is under way (sandgate-console ca rotate starts one)', {
      params: { state: 'none' },
    });
  if (next !== s.next)
    throw new SandgateError(
      'CONSOLE_CONFIG_INVALID',
      `the new CA in ${caDir(dataDir)} (${next}) is not the one this database records (${s.next})`,
      {
        params: { key: 'ca', expected: s.next, found: next },
      },
    );
  const retired = inServiceFingerprint(dataDir);
  const agentsLeft = await agentsNotReady(db, retired, next);
  if (agentsLeft > 0 && !force)
    throw new SandgateError(
      'CONSOLE_CA_ROTATION_STATE',
      `${agentsLeft} workstation(s) still hold a certificate of the old CA or do not report pinning the new one (agents older than CA rotation); ` +
        'they move at their next poll, or after an upgrade (sandgate-console ca status, the workstations page). Retire anyway with --force: they must then enroll again',
      { params: { state: 'agents-left', agentsLeft } },
    );
  promoteNextCa(dataDir, retired);
  await recordRetirement(db, retired, next);
  return { retired, inService: next, agentsLeft };
}

/** The database part of a retirement: the new CA is the one in service, no rotation under way. */
export async function recordRetirement(db: Db, retired: string, inService: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`UPDATE console_settings SET value = $2 WHERE key = 'ca_sha256' AND value = $1`, [retired, inService]);
    await tx.query(`DELETE FROM console_settings WHERE key = 'ca_next_sha256' AND value = $1`, [inService]);
  });
}

/**
 * The file part: the old certificate is copied to `retired/<sha256>.pem` (kept for the record; the agents' port no
 * longer accepts it), then the new key and certificate are renamed into the in-service names, which deletes the old
 * key. A crash between the two renames leaves the new key beside the old certificate: `completePromotion` finishes it.
 */
export function promoteNextCa(dataDir: string, retired: string): void {
  const dir = caDir(dataDir);
  mkdirSync(join(dir, CA_FILES.retired), { recursive: true, mode: 0o700 });
  writePrivate(join(dir, CA_FILES.retired, `${retired}.pem`), readFileSync(join(dir, CA_FILES.cert), 'utf8'));
  renameSync(join(dir, CA_FILES.nextKey), join(dir, CA_FILES.key));
  renameSync(join(dir, CA_FILES.nextCert), join(dir, CA_FILES.cert));
  // Issued by the old CA: the next load makes one from the new CA.
  rmSync(join(dir, CA_FILES.serverCert), { force: true });
}

/** Run before the CA is loaded: finishes a promotion a crash cut between its two renames. */
export function completePromotion(dataDir: string): void {
  const dir = caDir(dataDir);
  const nextCert = join(dir, CA_FILES.nextCert);
  if (existsSync(nextCert) && !existsSync(join(dir, CA_FILES.nextKey))) {
    renameSync(nextCert, join(dir, CA_FILES.cert));
    rmSync(join(dir, CA_FILES.serverCert), { force: true });
  }
}

export interface CaStatus {
  inService: { sha256: string; notAfter: string };
  next: { sha256: string; notAfter: string } | null;
  /**
   * Workstations (not revoked) by the CA of their certificate; during a rotation, `notReady`: how many would lose the
   * console if the old CA were retired now (`agentsNotReady`).
   */
  agents: { onInService: number; onNext: number; onRetired: number; notReady?: number };
}

/** What `ca status` and `GET /api/ca` show: the CAs and how far the fleet has moved. */
export async function caStatus(
  db: Queryable,
  ca: { certPem: string; fingerprint: string; next?: { certPem: string; fingerprint: string } | undefined },
): Promise<CaStatus> {
  const next = ca.next;
  const rows = await db.query<{ on_in_service: string | number; on_next: string | number; on_retired: string | number }>(
    `SELECT count(*) FILTER (WHERE coalesce(cert_ca_sha256, $1) = $1) AS on_in_service,
            count(*) FILTER (WHERE cert_ca_sha256 = $2) AS on_next,
            count(*) FILTER (WHERE coalesce(cert_ca_sha256, $1) <> $1 AND cert_ca_sha256 IS DISTINCT FROM $2) AS on_retired
       FROM agents WHERE revoked_at IS NULL`,
    [ca.fingerprint, next?.fingerprint ?? null],
  );
  const r = rows[0];
  const notAfter = (pem: string) => new Date(readCertNotAfter(pem)).toISOString();
  return {
    inService: { sha256: ca.fingerprint, notAfter: notAfter(ca.certPem) },
    next: next ? { sha256: next.fingerprint, notAfter: notAfter(next.certPem) } : null,
    agents: {
      onInService: Number(r?.on_in_service ?? 0),
      onNext: Number(r?.on_next ?? 0),
      onRetired: Number(r?.on_retired ?? 0),
      ...(next ? { notReady: await agentsNotReady(db, ca.fingerprint, next.fingerprint) } : {}),
    },
  };
}

/** The CA certificates in the folder, without their keys (for `ca status` when no `serve` runs). */
export function readCaFolder(dataDir: string): { certPem: string; fingerprint: string; next?: { certPem: string; fingerprint: string } } {
  const dir = caDir(dataDir);
  const file = join(dir, CA_FILES.cert);
  if (!existsSync(file)) throw new SandgateError('CONSOLE_NOT_FOUND', `no console CA in ${dir} (sandgate-console serve makes one)`);
  const certPem = readFileSync(file, 'utf8');
  const nextFile = join(dir, CA_FILES.nextCert);
  const nextPem = existsSync(nextFile) ? readFileSync(nextFile, 'utf8') : undefined;
  return {
    certPem,
    fingerprint: certificateFingerprint(certPem),
    ...(nextPem ? { next: { certPem: nextPem, fingerprint: certificateFingerprint(nextPem) } } : {}),
  };
}
