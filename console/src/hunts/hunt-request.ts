import { createHash } from 'node:crypto';
import { detectIocFormat, type HuntCreated, type HuntOptions } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { checkHuntFile } from './check-hunt-file.ts';
import { createHunt } from './create-hunt.ts';

/**
 * One operator's hunt request, from the web console (`POST /api/hunts`) or the command line (`hunt create`): the file
 * checked (hunt file size, format, parse), the task made, its first wave woken. The caller checks the permission first
 * and audits the outcome with `huntAuditDetails`.
 */
export async function createHuntTask(
  o: { db: Db; wake?: ((agentId: string) => void) | undefined },
  groupId: number,
  bytes: Uint8Array,
  req: { fileName: string; options: HuntOptions },
  actor: string,
): Promise<HuntCreated> {
  const checked = checkHuntFile(bytes, req.fileName);
  const made = await createHunt(o.db, groupId, checked, req.options, actor);
  for (const id of made.wake) o.wake?.(id);
  return { id: made.id, group: made.groupId, file: checked.file, workstations: made.shares, awaitingApproval: made.awaitingApproval };
}

/**
 * What the audit log keeps of a hunt request, refused and failed ones included: the group, the file's name, SHA-256,
 * size and format (null when it is none), and what it would do. Never the file's text.
 */
export function huntAuditDetails(
  req: { groupId: number; fileName: string; options: HuntOptions },
  bytes: Uint8Array,
  groupName?: string,
): Record<string, unknown> {
  let format: string | null = null;
  try {
    format = detectIocFormat(bytes, req.fileName);
  } catch {
    // none of the formats: audited as such (null) and refused by the check
  }
  const o = req.options;
  return {
    group: groupName ?? req.groupId,
    fileName: req.fileName,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.byteLength,
    format,
    quarantineOnMatch: o.quarantineOnMatch,
    dryRun: o.dryRun,
    scope: o.scope,
    runMode: o.runMode,
    ...(o.canaryPercent !== undefined ? { canaryPercent: o.canaryPercent } : {}),
    ...(o.maxWorkstations !== undefined ? { maxWorkstations: o.maxWorkstations } : {}),
  };
}
