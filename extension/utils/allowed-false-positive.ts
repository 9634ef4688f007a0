import type { JobRecord } from './job-record.ts';

/**
 * True when the agent judged the download malicious but acted on nothing because the policy lists its SHA-256 as a
 * known false positive (`response.allowSha256`): each action it would have run is reported `skipped` with this code.
 */
export function isAllowedFalsePositive(record: Pick<JobRecord, 'actions'>): boolean {
  return record.actions?.some((a) => a.status === 'skipped' && a.code === 'ALLOWED_FALSE_POSITIVE') ?? false;
}
