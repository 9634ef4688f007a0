import { z } from 'zod';
import {
  browserQuarantineItemSchema,
  listQuarantineResultSchema,
  restoreAnswerViewSchema,
  restoreQuarantinedResultSchema,
  SandgateError,
  type RestoreAnswerView,
} from '@sandgate/shared';
import type { JobRecord } from './job-record.ts';
import type { HostClient } from './host-client.ts';
import type { JobStore } from './job-store.ts';
import type { RestoreAnswer } from './popup-messages.ts';
import type { StorageAreaLike } from './storage-area.ts';
import { QUARANTINE_KEY } from './storage-keys.ts';

/** `sandgate.quarantine`: this browser's quarantine items as the agent last listed them, and what the person asked. */
export const quarantineViewSchema = z.object({
  items: z.array(browserQuarantineItemSchema),
  usersMayRestore: z.boolean(),
  /** When the agent answered (ISO). */
  at: z.string(),
  /** Items whose restore the person asked an administrator for. */
  requested: z.array(z.string()).default([]),
  /** What became of those requests, as the agent last said (issue 17). */
  answers: z.array(restoreAnswerViewSchema).default([]),
});
export type QuarantineView = z.infer<typeof quarantineViewSchema>;

export function parseQuarantineView(raw: unknown): QuarantineView | undefined {
  const parsed = quarantineViewSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

export interface QuarantineDeps {
  client: Pick<HostClient, 'request' | 'connection'>;
  local: StorageAreaLike;
  store: JobStore;
  browserName: string;
  now: () => string;
}

/** Asks the agent for this browser's items and keeps the answer for the popup. Quietly does nothing while disconnected. */
export async function refreshQuarantine(deps: QuarantineDeps): Promise<void> {
  if (deps.client.connection.state !== 'connected') return;
  const result = await deps.client.request('list-quarantine', { browser: deps.browserName, limit: 50 }, listQuarantineResultSchema);
  const previous = parseQuarantineView((await deps.local.get(QUARANTINE_KEY))[QUARANTINE_KEY]);
  const present = new Set(result.items.map((i) => i.id));
  const answers = result.answers ?? [];
  const view: QuarantineView = {
    items: result.items,
    usersMayRestore: result.usersMayRestore,
    at: deps.now(),
    requested: (previous?.requested ?? []).filter((id) => present.has(id)),
    answers,
  };
  await deps.local.set({ [QUARANTINE_KEY]: view });
  await applyAnswers(deps, answers);
}

/** The administrator's answer as the download's record keeps it; undefined while there is none. */
export function answerAsRestore(a: RestoreAnswerView): JobRecord['restore'] | undefined {
  const by = 'administrator' as const;
  switch (a.state) {
    case 'requested':
      return undefined;
    case 'declined':
      return { outcome: 'declined', at: a.at, by, ...(a.reason ? { reason: a.reason } : {}) };
    case 'approved':
      return { outcome: 'approved', at: a.at, by };
    case 'restored':
      return { outcome: 'restored', at: a.at, by, ...(a.path ? { path: a.path } : {}) };
    case 'refused':
      // Approved, but this computer refused the restore: never shown as restored.
      return { outcome: 'failed', at: a.at, by, message: [a.code, a.message].filter(Boolean).join(': ') };
  }
}

/** Writes each answer on the records of the quarantine item it is about (only when it changes what they say). */
async function applyAnswers(deps: QuarantineDeps, answers: readonly RestoreAnswerView[]): Promise<void> {
  const byItem = new Map<string, NonNullable<JobRecord['restore']>>();
  for (const a of answers) {
    const r = answerAsRestore(a);
    if (r) byItem.set(a.quarantineId, r);
  }
  if (!byItem.size) return;
  await deps.store.update((jobs) => {
    for (const record of jobs.values()) {
      const answer = record.quarantineId === undefined ? undefined : byItem.get(record.quarantineId);
      if (!answer || JSON.stringify(record.restore) === JSON.stringify(answer)) continue;
      // A later restore by the person themselves (policy changed since) is not overwritten by an older answer.
      if (record.restore && record.restore.by !== 'administrator' && record.restore.outcome !== 'requested') continue;
      record.restore = answer;
      record.updatedAt = deps.now();
    }
  });
}

/** Restores (policy permitting) or asks an administrator; the outcome is written on the download's record too. */
export async function requestRestore(deps: QuarantineDeps, quarantineId: string): Promise<RestoreAnswer> {
  let answer: RestoreAnswer;
  try {
    const r = await deps.client.request('restore-quarantined', { id: quarantineId }, restoreQuarantinedResultSchema);
    answer = r.outcome === 'restored' ? { outcome: 'restored', path: r.path } : { outcome: 'requested' };
  } catch (err) {
    const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', String(err));
    answer = { outcome: 'failed', message: `${e.code}: ${e.message}` };
  }
  const at = deps.now();
  await deps.store.update((jobs) => {
    for (const r of jobs.values()) {
      if (r.quarantineId !== quarantineId) continue;
      r.restore = {
        outcome: answer.outcome,
        at,
        by: 'user',
        ...(answer.path ? { path: answer.path } : {}),
        ...(answer.message ? { message: answer.message } : {}),
      };
      r.updatedAt = at;
    }
  });
  if (answer.outcome === 'requested') {
    const view = parseQuarantineView((await deps.local.get(QUARANTINE_KEY))[QUARANTINE_KEY]);
    if (view && !view.requested.includes(quarantineId))
      await deps.local.set({
        [QUARANTINE_KEY]: {
          ...view,
          requested: [...view.requested, quarantineId],
          // Asked again after a decline: waiting anew.
          answers: view.answers.filter((a) => a.quarantineId !== quarantineId),
        },
      });
  }
  await refreshQuarantine(deps).catch(() => undefined);
  return answer;
}
