import { lstat } from 'node:fs/promises';
import { SandgateError, type Task, type TaskMatch } from '@sandgate/shared';
import type { QuarantineContext } from '../quarantine/quarantine-context.ts';
import type { NewAgentEvent } from '../events/event-log.ts';
import { applyLimitsAfterQuarantine } from '../quarantine/enforce-limits.ts';

type MatchAction = TaskMatch['actions'][number];

/** The quarantine items a task made carry this job id. */
export const taskJobId = (taskId: string) => `task:${taskId}`;

/**
 * The event that reports a match's quarantine, recorded with its result in the task's record (TaskStore.save), so a
 * crash cannot keep one without the other.
 */
export function matchActionEvents(task: Task, match: TaskMatch, done: MatchAction): NewAgentEvent[] {
  if (done.type !== 'quarantine' || (done.status !== 'done' && done.status !== 'failed')) return [];
  const about = { taskId: task.id, path: match.path, ...(match.sha256 ? { sha256: match.sha256 } : {}) };
  if (done.status === 'failed')
    return [
      {
        type: 'quarantine-failed',
        ...about,
        ...(done.code ? { code: done.code } : {}),
        ...(done.message ? { message: done.message } : {}),
      },
    ];
  const threat = (match.description ?? `IOC ${match.iocId}`).slice(0, 512);
  return [{ type: 'quarantined', ...about, ...(done.id ? { quarantineId: done.id } : {}), iocId: match.iocId, threat }];
}

/**
 * Quarantines the file of a match: the bytes the scan hashed (`expectedSha256`), so a file replaced since is left
 * alone (ORIGINAL_CHANGED). Safe to call again after a crash: an item of this task for this path with the original gone
 * means it was done; with the original still there it runs again and the earlier copy is removed.
 */
export async function quarantineMatch(ctx: QuarantineContext, task: Task, match: TaskMatch): Promise<MatchAction> {
  if (match.document !== 'FileItem' || !match.sha256) {
    return {
      type: 'quarantine',
      status: 'skipped',
      message: 'only a file whose content was hashed is quarantined; this match is reported',
    };
  }
  const jobId = taskJobId(task.id);
  const earlier = ctx.quarantineStore.find((m) => m.jobId === jobId && m.originalPath === match.path)?.id;
  if (earlier && !(await lstat(match.path).catch(() => undefined))) return { type: 'quarantine', status: 'done', id: earlier };
  const threat = match.description ?? `IOC ${match.iocId}`;
  try {
    const { id } = await ctx.quarantineObject({
      path: match.path,
      expectedSha256: match.sha256,
      verdict: { level: 'malicious', threat: threat.slice(0, 512), server: `ioc:${match.iocId}`.slice(0, 2048) },
      // No download behind it; the reason names the task.
      provenance: { source: 'scan-task' },
      jobId,
      reason: `found by scan task ${task.id}: ${match.terms.join(', ')}`.slice(0, 1024),
    });
    await applyLimitsAfterQuarantine(ctx.quarantineStore, ctx.quarantineLimits, { now: ctx.clock.now(), keep: id, log: ctx.log });
    if (earlier)
      await ctx.quarantineStore.delete(earlier, { reason: `a duplicate of ${id} left by an interrupted quarantine` }).catch(() => {});
    return { type: 'quarantine', status: 'done', id };
  } catch (err) {
    const e =
      err instanceof SandgateError
        ? err
        : new SandgateError('QUARANTINE_FAILED', err instanceof Error ? err.message : String(err), { cause: err });
    return { type: 'quarantine', status: 'failed', code: e.code, message: e.message };
  }
}
