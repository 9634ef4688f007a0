import type { Task } from '@sandgate/shared';
import type { NewAgentEvent } from '../events/event-log.ts';

export type TaskEventType =
  | 'scan-task-created'
  | 'scan-task-started'
  | 'scan-task-paused'
  | 'scan-task-resumed'
  | 'scan-task-completed'
  | 'scan-task-failed'
  | 'scan-task-cancelled';

/** A task's event, recorded with the change it reports (TaskStore.save). */
export function taskEvent(type: TaskEventType, t: Task, message: string, code?: string): NewAgentEvent {
  return { type, taskId: t.id, ...(t.jobId ? { jobId: t.jobId } : {}), ...(code ? { code } : {}), message };
}

export function scopeText(scope: Task['scope']): string {
  return Array.isArray(scope) ? scope.join(', ') : scope;
}
