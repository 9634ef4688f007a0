import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { lazySchema } from '@sandgate/shared';
import type { ErrorCode } from '@sandgate/shared';
import type { SignatureLimits } from '../publisher/authenticode-file.ts';
import { publisherExemption } from '../publisher/publisher-match.ts';
import { writeFileDurable } from '@sandgate/shared/durable-write';

/**
 * Limits a console group task puts on what its local task may do, kept beside the task record
 * (`tasks/<id>/console-guard.json`, written with the task, never changed) because the record's schema is shared with
 * the CLI. The runner reads it before every quarantine, so a restart or a crash cannot lose it.
 */
export const GUARD_FILE = 'console-guard.json';

export const taskGuardSchema = lazySchema(() =>
  z.object({
    source: z.literal('console'),
    /** The workstation's share of the group task, and the group task. */
    consoleTaskId: z.string(),
    groupTaskId: z.string(),
    /** Record "would quarantine", do nothing. */
    dryRun: z.boolean(),
    /**
     * Paths expanded on this workstation (no `~/` left): prefixes, or globs when they hold `*` or `?`. Publishers:
     * Authenticode signers (name + pinned certificates), absent from guards written before they existed.
     */
    neverQuarantine: z.object({
      paths: z.array(z.string()),
      sha256: z.array(z.string()),
      publishers: z.array(z.object({ name: z.string(), caSha256: z.array(z.string()) })).default([]),
    }),
    /**
     * The group task's object: the only content it may quarantine, compared with the SHA-256 the scan computed from
     * the bytes it read. A guard without it (written before issue 14) quarantines nothing.
     */
    objectSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    /** The console has no second witness for the object yet: report, quarantine nothing. Rewritten once witnessed. */
    awaitingWitness: z.boolean().optional(),
    /**
     * An operator's hunt (issue 18): there is no object, so any match with a SHA-256 computed from its bytes may be
     * quarantined (never-quarantine, dry run and the witness, another operator's approval, still apply); a match without
     * one (a process, a connection, a name) is reported.
     */
    hunt: z.boolean().optional(),
  }),
);
export type TaskGuard = z.infer<typeof taskGuardSchema>;

const FAIL_SAFE: TaskGuard = {
  source: 'console',
  consoleTaskId: '?',
  groupTaskId: '?',
  dryRun: true,
  neverQuarantine: { paths: [], sha256: [], publishers: [] },
};

/** The `code` of a console task's match whose SHA-256 is not the task's object: reported, never acted on. */
export const NOT_THE_OBJECT = 'GROUP_TASK_NOT_THE_OBJECT' satisfies ErrorCode;

/** The `code` of a console task's quarantine held back until the console has a second witness (re-armed then). */
export const AWAITING_WITNESS = 'GROUP_TASK_AWAITING_WITNESS' satisfies ErrorCode;

/**
 * The `code` a quarantine skipped for a never-quarantine publisher carries on the task's match, so the report can say
 * "kept" later without checking the file's signature again.
 */
export const NEVER_QUARANTINE_PUBLISHER = 'NEVER_QUARANTINE_PUBLISHER';

/** The `code` of a quarantine skipped because the policy lists the SHA-256 as a known false positive. */
export const ALLOWED_FALSE_POSITIVE = 'ALLOWED_FALSE_POSITIVE' satisfies ErrorCode;

/** Why a match must not be quarantined, and by which rule. */
export type GuardDecision =
  | { why: 'dry-run' }
  | { why: 'not-the-object' }
  | { why: 'awaiting-witness' }
  | { why: 'never-quarantine'; rule: 'sha256' | 'path' }
  | { why: 'never-quarantine'; rule: 'allowed' }
  | { why: 'never-quarantine'; rule: 'publisher'; publisher: string };

/** The guard of the task in `taskDir`, or undefined (a task made here, not by the console). An unreadable guard guards everything. */
export function readTaskGuard(taskDir: string): TaskGuard | undefined {
  let text: string;
  try {
    text = readFileSync(join(taskDir, GUARD_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return FAIL_SAFE;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const r = taskGuardSchema.safeParse(raw);
  // Failing safe: a guard we cannot read turns the task into a dry run rather than letting it act unchecked.
  return r.success ? r.data : FAIL_SAFE;
}

/**
 * The console has a second witness for the task's object: its guard lets matches with that SHA-256 be quarantined
 * from now on. Written beside the record like the original (temp file, fsync, rename), so a crash leaves one or the
 * other, and the console's `witnessed` message, sent until acknowledged, makes the agent do it again if need be.
 */
export async function writeWitnessedGuard(taskDir: string, guard: TaskGuard): Promise<void> {
  await writeFileDurable(taskDir, GUARD_FILE, JSON.stringify({ ...guard, awaitingWitness: false }, null, 1) + '\n');
}

/** `~/x` → the home folder of the user the agent runs as; anything else unchanged. */
export function expandHome(p: string, home = homedir()): string {
  if (p === '~') return home;
  return p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/**
 * The decision of the guard alone (never-quarantine SHA-256 and paths, the object's SHA-256, dry run, the witness),
 * without reading the file: what the report uses for a quarantine already skipped. `match.sha256` is the hash the
 * scan computed from the bytes it read; a match without one (decided by name or size) is never the object.
 */
export function listDecision(
  guard: TaskGuard | undefined,
  match: { path: string; sha256?: string | undefined },
): GuardDecision | undefined {
  if (!guard) return undefined;
  if (match.sha256 && guard.neverQuarantine.sha256.includes(match.sha256.toLowerCase())) return { why: 'never-quarantine', rule: 'sha256' };
  if (guard.neverQuarantine.paths.some((p) => pathMatches(p, match.path))) return { why: 'never-quarantine', rule: 'path' };
  if (guard.hunt === true) {
    if (!match.sha256) return { why: 'not-the-object' };
  } else if (!guard.objectSha256 || match.sha256?.toLowerCase() !== guard.objectSha256) return { why: 'not-the-object' };
  if (guard.dryRun) return { why: 'dry-run' };
  if (guard.awaitingWitness !== false) return { why: 'awaiting-witness' };
  return undefined;
}

export interface GuardOptions {
  /** Told why a file was not exempted by the publishers (unsigned, not pinned, unreadable …). */
  onPublisherRefused?: (reason: string) => void;
  limits?: SignatureLimits;
  /** The policy's known false positives (`response.allowSha256`): never quarantined by any task. */
  allowSha256?: readonly string[];
}

/**
 * Why a match must not be quarantined, or undefined when it may be: the policy's allow list, then the guard's lists, then (when the guard names
 * publishers) the file's Authenticode signature, read now and tied to the bytes that matched (`match.sha256`).
 * Never throws: a signature that cannot be checked exempts nothing.
 */
export async function guardDecision(
  guard: TaskGuard | undefined,
  match: { path: string; sha256?: string | undefined },
  opts: GuardOptions = {},
): Promise<GuardDecision | undefined> {
  // The administrator's word on a false positive holds for every task, a local one as much as a group task.
  if (match.sha256 && opts.allowSha256?.includes(match.sha256.toLowerCase())) return { why: 'never-quarantine', rule: 'allowed' };
  if (!guard) return undefined;
  const listed = listDecision(guard, match);
  if (listed?.why === 'never-quarantine') return listed;
  // Only a hashed file is ever quarantined, and the hash is what ties the signature checked to the bytes that matched.
  if (guard.neverQuarantine.publishers.length && match.path && match.sha256) {
    const d = await publisherExemption(match, guard.neverQuarantine.publishers, opts.limits);
    if (d.exempt) return { why: 'never-quarantine', rule: 'publisher', publisher: d.publisher };
    opts.onPublisherRefused?.(d.reason);
  }
  return listed;
}

/** A glob (`*` within a name, `**` across folders, `?` one character) or a prefix that ends at a folder boundary. */
export function pathMatches(pattern: string, path: string): boolean {
  if (/[*?]/.test(pattern)) return globToRegExp(pattern).test(path);
  const prefix = pattern.endsWith('/') ? pattern.slice(0, -1) : pattern;
  return path === prefix || path.startsWith(prefix + '/');
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        // `**/`: any number of whole folders, none included.
        re += '(?:.*/)?';
        i++;
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
