import type { Db } from '../db/db.ts';
import type { LogLine } from '../http/http-util.ts';
import { caSettings, completePromotion, promoteNextCa, readCaFolder } from '../pki/ca-rotation.ts';

export interface CaWatchOptions {
  db: Db;
  dataDir: string;
  /** The CA this process serves with now. */
  current: () => { fingerprint: string; next?: { fingerprint: string } | undefined };
  /** Loads the folder's CA again and gives the listeners new TLS settings. */
  reload: () => void;
  log: LogLine;
  everyMs?: number;
}

/**
 * Several console processes on one database: `ca rotate` and `ca retire` run in one of them, and the others learn of
 * it here, by reading `console_settings` every `everyMs` (10 s). A process whose folder holds what the database
 * records (the administrator copied `new-ca-cert.pem` and `new-ca-key.pem` into it) reloads without a restart; a
 * retirement recorded by another process is carried out on this folder too (the same renames). Until the files are
 * there it says, once per state, what to copy, and keeps serving with what it has.
 */
export function watchCaSettings(o: CaWatchOptions): { close(): void } {
  let told = '';
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const s = await caSettings(o.db);
      const now = o.current();
      if (!s.current || (s.current === now.fingerprint && (s.next ?? null) === (now.next?.fingerprint ?? null))) return;
      completePromotion(o.dataDir);
      let folder = readCaFolder(o.dataDir);
      // Retired by another process: this folder holds the new CA as `new-ca-*`; promote it here as well.
      if (!s.next && folder.next?.fingerprint === s.current) {
        promoteNextCa(o.dataDir, folder.fingerprint);
        folder = readCaFolder(o.dataDir);
      }
      if (folder.fingerprint === s.current && (folder.next?.fingerprint ?? null) === (s.next ?? null)) {
        o.reload();
        told = '';
        return;
      }
      const state = `${s.current}/${s.next ?? ''}`;
      if (told !== state) {
        told = state;
        o.log(
          `the console CA changed in the database (in service ${s.current}${s.next ? `, new CA ${s.next}` : ''}) but not in ${o.dataDir}/ca: ` +
            'copy new-ca-cert.pem and new-ca-key.pem from the console process that ran "ca rotate"; this process keeps its CA until then',
        );
      }
    } catch (err) {
      o.log(`checking the console CA in the database failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), o.everyMs ?? 10_000);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
