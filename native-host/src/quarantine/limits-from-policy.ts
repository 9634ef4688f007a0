import type { Policy } from '@sandgate/shared';
import type { QuarantineLimits } from './enforce-limits.ts';

const DAY_MS = 86_400_000;

/** The `quarantine` policy section as enforceQuarantineLimits takes it; `maxAgeDays: 0` means no age limit. */
export function quarantineLimitsFrom(policy: Policy): QuarantineLimits {
  const q = policy.quarantine;
  return { maxBytes: q.maxBytes, ...(q.maxAgeDays > 0 ? { maxAgeMs: q.maxAgeDays * DAY_MS } : {}) };
}
