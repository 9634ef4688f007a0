import type { AGENT_EVENT_TYPES } from '../log/agent-event.ts';

/**
 * How much an event of the agents' log asks of an administrator: a threat acted on or found, a failure of the agent's
 * own work, or information. Decided from the event's type (and a verdict's level). The one list: the console filters
 * by it in SQL (`GET /api/events?severity=`) and answers each event with its severity, which the page shows.
 * @since 1 (console events view, issue 17)
 */
export const EVENT_SEVERITIES = ['threat', 'failure', 'info'] as const;
export type EventSeverity = (typeof EVENT_SEVERITIES)[number];

type EventType = (typeof AGENT_EVENT_TYPES)[number];

/** Threats whatever their level. */
export const THREAT_EVENT_TYPES: readonly EventType[] = ['quarantined', 'scan-task-match', 'verdict-allowed', 'held-landed'];
/** Verdicts that are threats when their `level` is `malicious`. */
export const VERDICT_EVENT_TYPES: readonly EventType[] = ['verdict', 'verdict-cached'];
export const FAILURE_EVENT_TYPES: readonly EventType[] = [
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
];

export function eventSeverity(type: string, level?: unknown): EventSeverity {
  if (VERDICT_EVENT_TYPES.includes(type as EventType) && level === 'malicious') return 'threat';
  if (THREAT_EVENT_TYPES.includes(type as EventType)) return 'threat';
  if (FAILURE_EVENT_TYPES.includes(type as EventType)) return 'failure';
  return 'info';
}
