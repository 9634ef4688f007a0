import { basename, extname, resolve } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { decryptBlob } from './blob-cipher.ts';
import type { ItemMetadata } from './item-metadata.ts';
import { publishNewFile } from './publish-new-file.ts';
import type { QuarantineStore } from './quarantine-store.ts';
import { ZIP_ENTRY_MAX_BYTES, ZipCryptoWriter } from './zip-crypto-writer.ts';

/** The password analysts expect on a sample archive. */
export const EXPORT_DEFAULT_PASSWORD = 'infected';

export interface ExportOptions {
  password?: string;
  appVersion?: string;
}

export interface ExportResult {
  path: string;
  /** Names inside the archive: the sample, then its description. */
  entries: [string, string];
  sha256: string;
}

/**
 * Writes a quarantined object into a password-protected ZIP for a second opinion: `<sha256>.<ext>` (the sample) and
 * `<sha256>.json` (what we know about it). The item stays in the store. The archive is published like a restore (new
 * file only, never through a link) and only after the decrypted content matched the recorded SHA-256.
 */
export async function exportItem(store: QuarantineStore, id: string, out: string, opts: ExportOptions = {}): Promise<ExportResult> {
  store.assertExists(id);
  const meta = store.readMetadata(id);
  const keys = store.readKeys();
  const files = store.files(id);
  if (meta.size > ZIP_ENTRY_MAX_BYTES) {
    throw new SandgateError(
      'QUARANTINE_EXPORT_TOO_LARGE',
      `quarantine item ${id} (${meta.size} bytes) is larger than a sample archive holds (${ZIP_ENTRY_MAX_BYTES} bytes)`,
      {
        params: { id, size: meta.size },
      },
    );
  }
  const dest = resolve(out);
  const sampleName = `${meta.sha256}.${sampleExtension(meta.originalPath)}`;
  const infoName = `${meta.sha256}.json`;
  const info = Buffer.from(JSON.stringify(describeForAnalysts(meta, opts.appVersion), null, 2) + '\n');
  const now = new Date();
  await publishNewFile(dest, { purpose: 'export' }, async (fh) => {
    const zip = new ZipCryptoWriter(fh, opts.password ?? EXPORT_DEFAULT_PASSWORD);
    await zip.addEntry(sampleName, meta.size, new Date(meta.mtimeMs), async (sink) => {
      const { sha256 } = await decryptBlob(files.blob, keys.blob, id, async (pieces) => {
        for (const piece of pieces) await sink(piece);
      });
      if (sha256 !== meta.sha256) {
        throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: its content does not have the recorded SHA-256`, {
          params: { id },
        });
      }
    });
    await zip.addEntry(infoName, info.length, now, (sink) => sink(info));
    await zip.finish();
  });
  store.events.append({
    type: 'quarantine-exported',
    quarantineId: id,
    path: dest,
    sha256: meta.sha256,
    level: meta.verdict.level,
    threat: meta.verdict.threat,
    message: `quarantine item ${id} exported to ${dest} (password-protected ZIP)`,
  });
  return { path: dest, entries: [sampleName, infoName], sha256: meta.sha256 };
}

/** The original extension when it is plain (so the analyst's tools recognise the type), else `bin`. */
function sampleExtension(originalPath: string): string {
  const ext = extname(originalPath).slice(1).toLowerCase();
  return /^[a-z0-9]{1,10}$/.test(ext) ? ext : 'bin';
}

/**
 * What travels with the sample. The original folder is left out on purpose: it names the user and their folders, and
 * the archive is meant to leave the organisation. The file's own name, hashes, verdict and source are what an analyst
 * needs.
 */
function describeForAnalysts(meta: ItemMetadata, appVersion: string | undefined) {
  return {
    fileName: basename(meta.originalPath),
    size: meta.size,
    sha256: meta.sha256,
    sha1: meta.sha1,
    md5: meta.md5,
    verdict: meta.verdict,
    source: { url: meta.source.url, finalUrl: meta.source.finalUrl, referrer: meta.source.referrer, browser: meta.source.browser },
    quarantinedAt: meta.quarantinedAt,
    reason: meta.reason,
    exportedBy: `sandgate${appVersion ? ` ${appVersion}` : ''}`,
  };
}
