import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { lazySchema } from '@sandgate/shared';
import type { RestoreAnswerView } from '@sandgate/shared';
import { writeFileAtomic } from '@sandgate/shared/durable-write';

// What the person asked an administrator to restore ("Ask for restore" in the popup, when policy lets only an
// administrator restore) and what became of it (issue 17): the console's answer (`restore-answer`) and, once approved,
// what the restore did on this workstation. One small file in the home, keyed by quarantine item, so the popup can
// say "declined: <reason>" or "restored by your administrator" even after the item has left the quarantine.

const MAX_ASKS = 200;
const KEEP_DAYS = 90;

const askSchema = lazySchema(() =>
  z.object({
    quarantineId: z.string().max(128),
    sha256: z.string().max(64),
    browser: z.string().max(32).optional(),
    askedAt: z.string(),
    answer: z.object({ decision: z.enum(['approved', 'declined']), reason: z.string().max(2000).optional(), at: z.string() }).optional(),
    restore: z
      .object({
        outcome: z.enum(['restored', 'refused']),
        path: z.string().max(4096).optional(),
        code: z.string().max(64).optional(),
        message: z.string().max(2000).optional(),
        at: z.string(),
      })
      .optional(),
  }),
);
type Ask = z.infer<typeof askSchema>;
const fileSchema = lazySchema(() => z.object({ asks: z.array(askSchema) }));

export const restoreAsksFile = (home: string): string => join(home, 'restore-asks.json');

/** Writes of one file, one after the other (the browser's asks and the console's answers arrive in one process). */
const chains = new Map<string, Promise<unknown>>();

function read(file: string): Ask[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  try {
    return fileSchema.parse(JSON.parse(text)).asks;
  } catch {
    // A damaged file loses what people were told, nothing else: start again rather than fail the restore path.
    return [];
  }
}

function change(home: string, fn: (asks: Ask[]) => void): Promise<void> {
  const file = restoreAsksFile(home);
  const run = (chains.get(file) ?? Promise.resolve()).then(async () => {
    const asks = read(file);
    fn(asks);
    const cutoff = Date.now() - KEEP_DAYS * 86_400_000;
    const kept = asks.filter((a) => Date.parse(a.askedAt) >= cutoff).slice(-MAX_ASKS);
    await writeFileAtomic(file, JSON.stringify({ asks: kept }) + '\n', 0o600);
  });
  const settled = run.catch(() => undefined);
  chains.set(file, settled);
  return run;
}

/** The person asked: remembered (asked again, the earlier answer is forgotten: they are waiting anew). */
export function recordAsk(
  home: string,
  ask: { quarantineId: string; sha256: string; browser?: string | undefined; at: Date },
): Promise<void> {
  return change(home, (asks) => {
    const i = asks.findIndex((a) => a.quarantineId === ask.quarantineId);
    if (i >= 0) asks.splice(i, 1);
    asks.push({
      quarantineId: ask.quarantineId,
      sha256: ask.sha256,
      ...(ask.browser ? { browser: ask.browser } : {}),
      askedAt: ask.at.toISOString(),
    });
  });
}

/** The administrator's answer to the ask about `quarantineId` (or, without one, every open ask about `sha256`). */
export function recordAnswer(
  home: string,
  a: { quarantineId?: string | undefined; sha256: string; decision: 'approved' | 'declined'; reason?: string | undefined; at: string },
): Promise<void> {
  return change(home, (asks) => {
    for (const ask of asks) {
      if (a.quarantineId ? ask.quarantineId !== a.quarantineId : ask.sha256 !== a.sha256 || ask.answer) continue;
      ask.answer = { decision: a.decision, ...(a.reason ? { reason: a.reason } : {}), at: a.at };
    }
  });
}

/** What a console restore did to an item someone asked for (items nobody asked about are not recorded). */
export function recordRestoreOutcome(
  home: string,
  r: { quarantineId: string; outcome: 'restored' | 'refused'; path?: string; code?: string; message?: string; at: Date },
): Promise<void> {
  return change(home, (asks) => {
    const ask = asks.find((a) => a.quarantineId === r.quarantineId);
    if (!ask) return;
    ask.restore = {
      outcome: r.outcome,
      ...(r.path ? { path: r.path } : {}),
      ...(r.code ? { code: r.code } : {}),
      ...(r.message ? { message: r.message.slice(0, 2000) } : {}),
      at: r.at.toISOString(),
    };
  });
}

/**
 * The asks of one browser family (every one when `browser` is absent) as the popup reads them: `requested` while
 * unanswered, `declined` with the reason, `approved` until the restore has run, then `restored` or `refused` (an
 * approval whose restore this workstation refused is never shown as restored).
 */
export function listAnswers(home: string, browser?: string): RestoreAnswerView[] {
  return read(restoreAsksFile(home))
    .filter((a) => browser === undefined || a.browser === undefined || a.browser === browser)
    .map((a): RestoreAnswerView => {
      if (a.restore)
        return {
          quarantineId: a.quarantineId,
          state: a.restore.outcome,
          at: a.restore.at,
          ...(a.restore.path ? { path: a.restore.path } : {}),
          ...(a.restore.code ? { code: a.restore.code } : {}),
          ...(a.restore.message ? { message: a.restore.message } : {}),
        };
      if (a.answer)
        return {
          quarantineId: a.quarantineId,
          state: a.answer.decision,
          at: a.answer.at,
          ...(a.answer.reason ? { reason: a.answer.reason } : {}),
        };
      return { quarantineId: a.quarantineId, state: 'requested', at: a.askedAt };
    });
}
