import { createHash } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { registryStepSchema } from '@sandgate/shared';
import { writeFileAtomic } from '@sandgate/shared/durable-write';

/**
 * The record of what `sandgate install` wrote, so that `uninstall` removes exactly that: files (with the hash of what
 * was written, so a file changed since is left alone), registry keys, and the folders install had to create.
 */
const entrySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dir'), path: z.string() }),
  z.object({
    kind: z.literal('file'),
    path: z.string(),
    role: z.enum(['manifest', 'launcher']),
    browser: z.string().optional(),
    profileDir: z.string().optional(),
    sha256: z.string(),
  }),
  registryStepSchema,
]);
export type ReceiptEntry = z.infer<typeof entrySchema>;

const receiptSchema = z.object({ version: z.literal(1), entries: z.array(entrySchema) });

export const sha256Of = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

export const entryId = (e: ReceiptEntry) => (e.kind === 'registry' ? `registry:${e.hive}\\${e.key}` : `${e.kind}:${e.path}`);

/** The entries of a receipt; none when there is no receipt (or one we cannot read, which uninstall then works without). */
export async function readReceipt(path: string): Promise<ReceiptEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  try {
    const r = receiptSchema.safeParse(JSON.parse(text));
    return r.success ? r.data.entries : [];
  } catch {
    return [];
  }
}

/** Writes the receipt, or removes it when nothing is left to record. */
export async function writeReceipt(path: string, entries: ReceiptEntry[]): Promise<void> {
  if (entries.length === 0) {
    await unlink(path).catch(() => {});
    return;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, JSON.stringify({ version: 1, entries }, null, 2) + '\n', 0o644);
}

/** Later entries replace earlier ones with the same identity; order is kept (folders stay top-down). */
export function mergeEntries(old: ReceiptEntry[], added: ReceiptEntry[]): ReceiptEntry[] {
  const byId = new Map<string, ReceiptEntry>();
  for (const e of [...old, ...added]) {
    byId.delete(entryId(e));
    byId.set(entryId(e), e);
  }
  // Folders first, top-down, so that a reader (and rmdir deepest-first) sees them in creation order.
  const all = [...byId.values()];
  return [...all.filter((e) => e.kind === 'dir'), ...all.filter((e) => e.kind !== 'dir')];
}
