import { api } from './api.ts';
import { $ } from './dom.ts';
import { patchRows } from './keyed-rows.ts';
import { timeCell } from './time.ts';

interface AuditRow {
  id: number | string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  details: { code?: string } | null;
}

export async function loadAudit(): Promise<void> {
  const { entries } = await api<{ entries: AuditRow[] }>('GET', 'audit');
  patchRows(
    $<HTMLTableSectionElement>('#audit tbody'),
    entries.map((e) => ({
      key: String(e.id),
      cells: [timeCell(e.at), e.actor, e.action, e.target, e.outcome + (e.details?.code ? ' (' + e.details.code + ')' : '')],
      signature: JSON.stringify(e),
    })),
  );
}
