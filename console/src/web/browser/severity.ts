// How much an event asks of an administrator, shown as a word and a colour: a threat acted on or found, a failure of
// the agent's own work, or information. Decided here from the event's type (and a verdict's level), the one list the
// events view sorts its colours by.

export type Severity = 'threat' | 'failure' | 'info';

const THREAT = new Set(['quarantined', 'scan-task-match', 'verdict-allowed', 'held-landed']);
const FAILURE = new Set([
  'quarantine-failed',
  'server-error',
  'queue-full',
  'queue-entry-corrupt',
  'policy-invalid',
  'content-mismatch',
  'quarantine-limit-reached',
  'scan-task-failed',
  'scan-task-corrupt',
  'object-refused',
]);

export function severityOf(type: string, level?: string): Severity {
  if ((type === 'verdict' || type === 'verdict-cached') && level === 'malicious') return 'threat';
  if (THREAT.has(type)) return 'threat';
  if (FAILURE.has(type)) return 'failure';
  return 'info';
}
