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
  target_name: string | null;
  outcome: string;
  details: { code?: string } | null;
}

/** The page of the audit log on screen: null is the newest; otherwise the row id the page starts below. */
const pages: Array<number | null> = [null];
const PAGE = 100;

export async function loadAudit(): Promise<void> {
  const before = pages[pages.length - 1];
  const { entries: all } = await api<{ entries: AuditRow[] }>('GET', 'audit?limit=' + PAGE + (before ? '&before=' + before : ''));
  const needle = $<HTMLInputElement>('#audit-filter').value.trim().toLowerCase();
  const entries = needle
    ? all.filter((e) => [e.actor, e.action, e.target ?? '', e.target_name ?? '', e.outcome].some((t) => t.toLowerCase().includes(needle)))
    : all;
  $<HTMLButtonElement>('#audit-newer').disabled = pages.length === 1;
  $<HTMLButtonElement>('#audit-older').disabled = all.length < PAGE;
  $('#audit-older').dataset['next'] = String(all[all.length - 1]?.id ?? '');
  patchRows(
    $<HTMLTableSectionElement>('#audit tbody'),
    entries.map((e) => ({
      key: String(e.id),
      cells: [timeCell(e.at), e.actor, e.action, target(e), e.outcome + (e.details?.code ? ' (' + e.details.code + ')' : '')],
      signature: JSON.stringify(e),
    })),
  );
}

/** The target by name, its id on hover (an id is what the log keeps). */
function target(e: AuditRow): Node | string | null {
  if (!e.target_name || !e.target) return e.target;
  const span = document.createElement('span');
  span.textContent = e.target_name;
  span.title = e.target;
  return span;
}

export function wireAudit(): void {
  $('#audit-older').addEventListener('click', () => {
    const next = Number($('#audit-older').dataset['next']);
    if (next > 0) pages.push(next);
    void loadAudit();
  });
  $('#audit-newer').addEventListener('click', () => {
    if (pages.length > 1) pages.pop();
    void loadAudit();
  });
  $<HTMLInputElement>('#audit-filter').addEventListener('input', () => void loadAudit());
}
