import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Limits a console group task puts on what its local task may do, kept beside the task record
 * (`tasks/<id>/console-guard.json`, written with the task, never changed) because the record's schema is shared with
 * the CLI. The runner reads it before every quarantine, so a restart or a crash cannot lose it.
 */
export const GUARD_FILE = 'console-guard.json';

export const taskGuardSchema = z.object({
  source: z.literal('console'),
  /** The workstation's share of the group task, and the group task. */
  consoleTaskId: z.string(),
  groupTaskId: z.string(),
  /** Record "would quarantine", do nothing. */
  dryRun: z.boolean(),
  /** Expanded on this workstation (no `~/` left): prefixes, or globs when they hold `*` or `?`. */
  neverQuarantine: z.object({ paths: z.array(z.string()), sha256: z.array(z.string()) }),
});
export type TaskGuard = z.infer<typeof taskGuardSchema>;

const FAIL_SAFE: TaskGuard = { source: 'console', consoleTaskId: '?', groupTaskId: '?', dryRun: true, neverQuarantine: { paths: [], sha256: [] } };

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

/** `~/x` → the home folder of the user the agent runs as; anything else unchanged. */
export function expandHome(p: string, home = homedir()): string {
  if (p === '~') return home;
  return p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/** Why a match must not be quarantined, or undefined when it may be. */
export function guardDecision(guard: TaskGuard | undefined, match: { path: string; sha256?: string | undefined }): 'dry-run' | 'never-quarantine' | undefined {
  if (!guard) return undefined;
  if (match.sha256 && guard.neverQuarantine.sha256.includes(match.sha256.toLowerCase())) return 'never-quarantine';
  if (guard.neverQuarantine.paths.some((p) => pathMatches(p, match.path))) return 'never-quarantine';
  if (guard.dryRun) return 'dry-run';
  return undefined;
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
