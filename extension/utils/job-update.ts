import type { Job } from '@sandgate/shared';
import type { JobDisplayState, JobRecord } from './job-record.ts';
import { THREAT_STATES } from './job-record.ts';

/**
 * The popup's state for an agent job: a job with a verdict shows its level. The agent pushes the verdict as soon as it
 * is recorded, while the response actions (quarantine…) still run; the person sees it then, and the actions' outcome
 * with the job's last update.
 */
export function displayStateOf(job: Job): JobDisplayState {
  switch (job.state) {
    case 'queued':
      return 'queued';
    case 'analysing':
      return job.verdict?.level ?? 'analysing';
    case 'error':
      return 'error';
    case 'done':
      return job.verdict?.level ?? 'unknown';
  }
}

/**
 * Which stored download a job belongs to: by job id once the submit answer arrived, else by download id and path
 * (the agent may push the first update before it answers), never by download id alone, since another browser's
 * download can carry the same id.
 */
export function findRecordFor(jobs: Map<number, JobRecord>, job: Job): JobRecord | undefined {
  for (const r of jobs.values()) if (r.jobId === job.jobId) return r;
  const id = job.provenance.downloadId;
  if (job.provenance.source !== 'browser' || id === undefined) return undefined;
  const r = jobs.get(id);
  return r && r.jobId === undefined && r.path === job.path ? r : undefined;
}

/**
 * Folds one `job-update` into the record (in place). Returns true when this update revealed a threat for the first
 * time. Provenance from the agent is not copied: the record keeps no URLs.
 */
export function applyJobUpdate(record: JobRecord, job: Job, now: string): boolean {
  const state = displayStateOf(job);
  record.state = state;
  record.jobId = job.jobId;
  record.settled = job.state === 'done' || job.state === 'error';
  record.submitted = true;
  delete record.pendingProvenance;
  if (job.sha256) record.sha256 = job.sha256;
  if (job.verdict?.threat) record.threat = job.verdict.threat;
  if (job.verdict?.server) record.server = job.verdict.server;
  if (job.actions)
    record.actions = job.actions.map((a) =>
      a.code ? { type: a.type, status: a.status, code: a.code } : { type: a.type, status: a.status },
    );
  if (job.error) record.error = { code: job.error.code, message: job.error.message };
  else if (state !== 'error') delete record.error;
  const quarantined = job.actions?.find((a) => a.type === 'quarantine' && a.status === 'done' && a.id);
  if (quarantined?.id) record.quarantineId = quarantined.id;
  if (job.finishedAt) {
    const ms = Date.parse(job.finishedAt) - Date.parse(job.acceptedAt);
    if (Number.isFinite(ms) && ms >= 0) record.durationMs = ms;
  }
  record.updatedAt = now;
  if (THREAT_STATES.has(state) && record.threatAt === undefined) {
    record.threatAt = now;
    return true;
  }
  return false;
}
