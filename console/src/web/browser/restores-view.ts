import { api } from './api.ts';
import { $, button, errorText, say } from './dom.ts';
import { patchRows } from './keyed-rows.ts';
import { goTo } from './nav.ts';
import { pageState } from './page-state.ts';
import { timeCell } from './time.ts';

interface RestoreRow {
  id: string;
  created_at: string;
  created_by: string;
  sha256: string;
  shares: number;
  pending: number;
}

interface RestoreDetail {
  sha256: string;
  createdBy: string;
  shares: Array<{
    hostname: string;
    state: string;
    error?: { code: string };
    items: Array<{ path: string; outcome: string; code?: string }>;
    updatedAt: string;
  }>;
}

let openRestore: string | null = null;

/** A target asked for before the workstations were loaded (the events list's "restore…"): chosen once they are. */
let wantedTarget: { value: string; label: string } | null = null;

/** Where a restore can go: every workstation of a group, or one workstation. */
export function fillRestoreTargets(): void {
  const sel = $<HTMLSelectElement>('#restore-where');
  const keep = wantedTarget?.value ?? sel.value;
  sel.replaceChildren();
  for (const g of pageState.groups) sel.append(new Option('every workstation of ' + g.name, 'group:' + g.id));
  for (const a of pageState.agents)
    if (!a.revoked_at) sel.append(new Option('workstation ' + a.hostname + ' (' + a.id.slice(0, 8) + ')', 'agent:' + a.id));
  // A workstation asked for from an event need not be on the page of workstations loaded here.
  const wanted = wantedTarget;
  if (wanted && !Array.from(sel.options).some((o) => o.value === wanted.value)) sel.append(new Option(wanted.label, wanted.value));
  if (keep) sel.value = keep;
  if (sel.value === keep) wantedTarget = null;
}

/** Fills the restore form for an object seen quarantined (the events list's "restore…") and opens it. */
export function offerRestore(sha256: string, where: string, label = where): void {
  const form = $<HTMLFormElement>('#restore-form');
  const input = form.elements.namedItem('sha256');
  if (input instanceof HTMLInputElement) input.value = sha256;
  wantedTarget = { value: where, label };
  fillRestoreTargets();
  goTo('restores');
  form.scrollIntoView();
}

export async function loadRestores(): Promise<void> {
  const { restores } = await api<{ restores: RestoreRow[] }>('GET', 'restores');
  patchRows(
    $<HTMLTableSectionElement>('#restores tbody'),
    restores.map((r) => ({
      key: r.id,
      cells: [
        timeCell(r.created_at),
        r.created_by,
        r.sha256.slice(0, 12) + '…',
        r.shares,
        r.pending,
        button('open', () => void showRestore(r.id)),
      ],
      signature: JSON.stringify(r),
    })),
  );
}

async function showRestore(id: string): Promise<void> {
  openRestore = id;
  $('#restore-detail').hidden = false;
  await loadRestore();
}

/** Like a task, an open restore refreshes every second: each workstation's outcome appears as it reports. */
export async function loadRestore(): Promise<void> {
  if (!openRestore) return;
  const { restore } = await api<{ restore: RestoreDetail }>('GET', 'restores/' + encodeURIComponent(openRestore));
  $('#restore-title').textContent = 'Restore of ' + restore.sha256 + ' asked by ' + restore.createdBy;
  const rows = restore.shares.map((s, i) => {
    const items =
      s.items.map((i) => i.path + ' → ' + i.outcome + (i.code ? ' (' + i.code + ')' : '')).join('\n') ||
      (s.state === 'done' ? 'nothing quarantined with this SHA-256' : '');
    return {
      key: s.hostname + '|' + i,
      cells: [s.hostname, s.state + (s.error ? ' ' + s.error.code : ''), items, timeCell(s.updatedAt)],
      signature: JSON.stringify(s),
    };
  });
  patchRows($<HTMLTableSectionElement>('#restore-shares tbody'), rows);
}

export function wireRestores(): void {
  $<HTMLFormElement>('#restore-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const where = String(f.get('where') ?? '');
    const body: { sha256: string; groupId?: number; agentId?: string; allow?: boolean } = {
      sha256: String(f.get('sha256')).trim().toLowerCase(),
    };
    if (where.startsWith('group:')) body.groupId = Number(where.slice(6));
    else body.agentId = where.slice(6);
    if (f.get('allow')) body.allow = true;
    const target = $<HTMLSelectElement>('#restore-where').selectedOptions[0]?.textContent ?? where;
    // A restore puts a file judged malicious back in front of people: said in words and confirmed, never one click.
    const sure = confirm(
      'Restore ' + body.sha256 + ' on ' + target + '?' + (body.allow ? '\nIt will also never be acted on again in this group.' : ''),
    );
    if (!sure) return;
    try {
      const r = await api<{ id: string; duplicate?: boolean }>('POST', 'quarantine/restore', body);
      say('#restore-error', r.duplicate ? 'this restore is already on its way: shown below, not sent again' : 'restore sent', true);
      await loadRestores();
      await showRestore(r.id);
    } catch (err) {
      say('#restore-error', errorText(err));
    }
  });
}
