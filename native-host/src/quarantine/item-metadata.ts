import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isAbsolute, normalize } from 'node:path';
import { z } from 'zod';
import { lazySchema } from '@sandgate/shared';
import { SandgateError, sha256Schema, verdictLevelSchema } from '@sandgate/shared';

/** An absolute, normalised path without NUL: a tampered `../` or relative path is refused even if the MAC held. */
const absolutePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => isAbsolute(p) && normalize(p) === p && !p.includes('\0'), 'an absolute, normalised path');

/** Everything the store knows about one item. Authenticated with an HMAC; never trusted before the MAC is checked. */
export const itemMetadataSchema = lazySchema(() =>
  z.strictObject({
    /** Format version of this record. */
    format: z.literal(1),
    id: z.string().regex(/^[0-9a-f]{32}$/),
    originalPath: absolutePathSchema,
    owner: z.strictObject({ uid: z.number().int(), gid: z.number().int() }),
    /** Permission bits (`st_mode & 0o7777`) of the original. */
    mode: z.number().int().min(0).max(0o7777),
    atimeMs: z.number(),
    mtimeMs: z.number(),
    size: z.number().int().nonnegative(),
    sha256: sha256Schema,
    sha1: z.string().regex(/^[0-9a-f]{40}$/),
    md5: z.string().regex(/^[0-9a-f]{32}$/),
    verdict: z.strictObject({
      level: verdictLevelSchema,
      threat: z.string().max(512).optional(),
      server: z.string().max(2048),
      score: z.number().optional(),
    }),
    source: z.strictObject({
      kind: z.enum(['browser', 'cli', 'scan-task']),
      browser: z.string().max(32).optional(),
      url: z.string().max(8192).optional(),
      finalUrl: z.string().max(8192).optional(),
      referrer: z.string().max(8192).optional(),
      downloadId: z.number().int().nonnegative().optional(),
    }),
    jobId: z.string().max(128),
    /** ISO 8601. */
    quarantinedAt: z.string(),
    /** Why it was quarantined, for people. */
    reason: z.string().max(1024),
    /** Blob encryption parameters, so a future format can change them. */
    cipher: z.literal('aes-256-gcm'),
  }),
);
export type ItemMetadata = z.infer<typeof itemMetadataSchema>;

/** The file on disk: the metadata as an exact JSON string and an HMAC over those very bytes (no canonicalisation). */
const sealedSchema = lazySchema(() =>
  z.strictObject({ format: z.literal(1), metadata: z.string().max(64 * 1024), mac: z.string().regex(/^[0-9a-f]{64}$/) }),
);

function mac(key: Buffer, id: string, text: string): Buffer {
  // The id is bound in, so a valid record copied under another item's name does not verify.
  return createHmac('sha256', key).update(`sandgate-quarantine-meta-v1\0${id}\0`).update(text).digest();
}

export function sealMetadata(key: Buffer, metadata: ItemMetadata): string {
  const text = JSON.stringify(itemMetadataSchema.parse(metadata));
  return JSON.stringify({ format: 1, metadata: text, mac: mac(key, metadata.id, text).toString('hex') }, null, 2) + '\n';
}

/** Verifies before parsing: a record that fails its MAC is never interpreted. */
export function openMetadata(key: Buffer, id: string, fileText: string): ItemMetadata {
  const corrupt = (why: string) => new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: ${why}`, { params: { id } });
  let raw: unknown;
  try {
    raw = JSON.parse(fileText);
  } catch {
    throw corrupt('its metadata is not JSON');
  }
  const sealed = sealedSchema.safeParse(raw);
  if (!sealed.success) throw corrupt('its metadata record is malformed');
  const expected = mac(key, id, sealed.data.metadata);
  const given = Buffer.from(sealed.data.mac, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw corrupt('its metadata was modified (authentication failed)');
  let inner: unknown;
  try {
    inner = JSON.parse(sealed.data.metadata);
  } catch {
    throw corrupt('its metadata is not JSON');
  }
  const parsed = itemMetadataSchema.safeParse(inner);
  if (!parsed.success || parsed.data.id !== id) throw corrupt('its metadata does not match the schema');
  return parsed.data;
}

/** Reads and authenticates one item's metadata file (never through a link). Missing → QUARANTINE_ITEM_NOT_FOUND. */
export function openMetadataFile(path: string, key: Buffer, id: string): ItemMetadata {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SandgateError('QUARANTINE_ITEM_NOT_FOUND', `no quarantine item ${id}`, { params: { id } });
    throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: its metadata cannot be read (${code ?? 'error'})`, {
      params: { id },
      cause: err,
    });
  }
  try {
    if (!fstatSync(fd).isFile())
      throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: its metadata is not a file`, { params: { id } });
    return openMetadata(key, id, readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}
