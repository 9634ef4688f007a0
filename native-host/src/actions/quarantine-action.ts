import { existsSync, readdirSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { SandgateError, type ActionResult } from '@sandgate/shared';
import { remove as removeItem } from '../quarantine/delete-item.ts';
import { loadStoreKeys, readItemMetadata } from '../quarantine/read-item.ts';
import { isItemId, storeDir } from '../quarantine/store-layout.ts';
import { enforceQuarantineLimits } from '../quarantine/enforce-limits.ts';
import type { ActionContext, ResponseAction } from './response-action.ts';

/** Moves a verified copy of the judged object into quarantine and deletes the original. */
export const quarantineAction: ResponseAction = {
  name: 'quarantine',
  enabled: (policy) => policy.response.quarantine,
  async run(ctx, job): Promise<ActionResult> {
    try {
      const { id } = await ctx.quarantineObject({
        home: ctx.home,
        path: job.path,
        expectedSha256: job.sha256,
        verdict: job.verdict,
        provenance: job.provenance,
        jobId: job.jobId,
      });
      ctx.events.append(
        { type: 'quarantined', jobId: job.jobId, path: job.path, sha256: job.sha256, quarantineId: id, ...threat(job.verdict.threat) },
        ctx.clock.now(),
      );
      await applyLimits(ctx, id);
      return { type: 'quarantine', status: 'done', id };
    } catch (err) {
      const e = err instanceof SandgateError ? err : new SandgateError('QUARANTINE_FAILED', err instanceof Error ? err.message : String(err), { cause: err });
      ctx.log.warn('quarantine failed', { jobId: job.jobId, code: e.code });
      ctx.events.append(
        { type: 'quarantine-failed', jobId: job.jobId, path: job.path, sha256: job.sha256, code: e.code, message: e.message, ...threat(job.verdict.threat) },
        ctx.clock.now(),
      );
      return { type: 'quarantine', status: 'failed', code: e.code, message: e.message };
    }
  },
  /**
   * Every item records the job that made it. No item of this job: the interrupted run never stored a copy, so it
   * cannot have deleted the original either, and running it again is safe (quarantineObject still only touches the
   * original if it has exactly the judged bytes). An item and no original: it finished. An item and an original still
   * there: it stopped between storing and deleting; it runs again (a fresh verified copy, then the original deleted)
   * and the earlier copy is removed, so the store holds one item per job.
   */
  async resume(ctx, job) {
    const earlier = itemOfJob(ctx.home, job.jobId);
    if (!earlier) return 'run-again';
    if (!(await lstat(job.path).catch(() => undefined))) return { type: 'quarantine', status: 'done', id: earlier };
    const result = await quarantineAction.run(ctx, job);
    if (result.status !== 'done') return { ...result, message: `${result.message ?? ''} (an earlier copy is kept as quarantine item ${earlier})`.trim() };
    await removeItem(ctx.home, earlier, { events: ctx.events, reason: `a duplicate of ${result.id ?? 'a newer item'} left by an interrupted quarantine` }).catch((err: unknown) =>
      ctx.log.warn('a duplicate quarantine copy could not be removed', { id: earlier, error: String(err) }),
    );
    return result;
  },
};

/** Storage limits after a new item. Never fails the quarantine: the object is safe either way, and the limits run again. */
async function applyLimits(ctx: ActionContext, keep: string): Promise<void> {
  if (!ctx.quarantineLimits) return;
  try {
    await enforceQuarantineLimits(ctx.home, ctx.quarantineLimits, { now: ctx.clock.now(), events: ctx.events, keep });
  } catch (err) {
    ctx.log.warn('quarantine limits could not be applied', { error: err instanceof Error ? err.message : String(err) });
  }
}

/** The quarantine item a job made, if any; items whose metadata does not authenticate are not believed. */
function itemOfJob(home: string, jobId: string): string | undefined {
  // Looking must not create the store (and a key) where a quarantine never ran.
  if (!existsSync(storeDir(home))) return undefined;
  let keys: ReturnType<typeof loadStoreKeys>;
  try {
    keys = loadStoreKeys(home);
  } catch {
    return undefined;
  }
  for (const name of readdirSync(storeDir(home))) {
    const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
    if (!isItemId(id)) continue;
    try {
      if (readItemMetadata(home, id, keys).jobId === jobId) return id;
    } catch {
      // unreadable or tampered: not evidence of anything
    }
  }
  return undefined;
}

function threat(t: string | undefined): { threat?: string } {
  return t ? { threat: t } : {};
}
