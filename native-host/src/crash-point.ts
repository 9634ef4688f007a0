import type { AgentEvent } from '@sandgate/shared';

/**
 * A test hook, not a feature: `SANDGATE_CRASH_AT=<name>` makes the agent kill itself with SIGKILL the first time it
 * reaches the point of that name, so test/integration/native-host/agent/agent-crash.test.ts can prove that a crash
 * anywhere in the pipeline loses no request and repeats no upload or quarantine. SIGKILL, not an exception: nothing
 * may get a chance to clean up, exactly as after a power cut or the OOM killer.
 *
 * The variable is read once at start-up, so an unset hook costs one string comparison per point.
 */
export type CrashPointName =
  /**
   * Inside a group commit of the request queue: the group's copies and records are synced and renamed into place, the
   * folder is not synced and no job of the group is acknowledged.
   */
  | 'mid-group-commit'
  /** The job record is on disk; the object has not been leased. */
  | 'after-accept'
  /** A server gave a verdict (the object was uploaded); nothing of it is recorded yet. */
  | 'after-submit-before-verdict'
  /** The verdict is in the job record; no response action has begun. */
  | 'after-verdict-recorded'
  /** The quarantine is marked begun in the job record; quarantineObject has not run. */
  | 'after-quarantine-started'
  /** quarantineObject returned (copy stored, original deleted); its result is not recorded yet. */
  | 'after-quarantine-returned'
  /** The quarantine result is in the job record; the job is not committed. */
  | 'after-quarantine-done-before-commit'
  /** The finished job is in the journal; its queue record and object file are still there. */
  | 'mid-commit'
  /** An event of a job or task is in its record (its outbox) and not yet in the event log. */
  | `before-event:${AgentEvent['type']}`
  /** The event is in the log too; nothing after it has happened. */
  | `after-event:${AgentEvent['type']}`;

const armed = process.env['SANDGATE_CRASH_AT'];

export function crashPoint(name: CrashPointName): void {
  if (armed === name) process.kill(process.pid, 'SIGKILL');
}
