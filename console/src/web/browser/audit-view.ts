import { api } from './api.ts';
import { emptyBody, row } from './dom.ts';

interface AuditRow {
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  details: { code?: string } | null;
}

export async function loadAudit(): Promise<void> {
  const { entries } = await api<{ entries: AuditRow[] }>('GET', 'audit');
  const tbody = emptyBody('#audit');
  for (const e of entries)
    row(tbody, [e.at, e.actor, e.action, e.target, e.outcome + (e.details?.code ? ' (' + e.details.code + ')' : '')]);
}
