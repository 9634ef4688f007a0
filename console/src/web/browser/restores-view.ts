import { api } from './api.ts';
import { $, button, emptyBody, errorText, row } from './dom.ts';
import { pageState } from './page-state.ts';

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

/** Where a restore can go: every workstation of a group, or one workstation. */
export function fillRestoreTargets(): void {
  const sel = $<HTMLSelectElement>('#restore-where');
  const keep = sel.value;
  sel.replaceChildren();
  for (const g of pageState.groups) sel.append(new Option('every workstation of ' + g.name, 'group:' + g.id));
  for (const a of pageState.agents) if (!a.revoked_at) sel.append(new Option('workstation ' + a.hostname, 'agent:' + a.id));
  if (keep) sel.value = keep;
}

/** Fills the restore form for an object seen quarantined (the events list's "restore…"). */
export function offerRestore(sha256: string, where: string): void {
  const form = $<HTMLFormElement>('#restore-form');
  const input = form.elements.namedItem('sha256');
  if (input instanceof HTMLInputElement) input.value = sha256;
  $<HTMLSelectElement>('#restore-where').value = where;
  form.scrollIntoView();
}

export async function loadRestores(): Promise<void> {
  const { restores } = await api<{ restores: RestoreRow[] }>('GET', 'restores');
  const tbody = emptyBody('#restores');
  for (const r of restores)
    row(tbody, [
      r.created_at,
      r.created_by,
      r.sha256.slice(0, 12) + '…',
      r.shares,
      r.pending,
      button('open', () => void showRestore(r.id)),
    ]);
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
  const tbody = emptyBody('#restore-shares');
  for (const s of restore.shares) {
    const items =
      s.items.map((i) => i.path + ' → ' + i.outcome + (i.code ? ' (' + i.code + ')' : '')).join('\n') ||
      (s.state === 'done' ? 'nothing quarantined with this SHA-256' : '');
    row(tbody, [s.hostname, s.state + (s.error ? ' ' + s.error.code : ''), items, s.updatedAt]);
  }
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
    try {
      const r = await api<{ id: string }>('POST', 'quarantine/restore', body);
      $('#restore-error').textContent = '';
      await loadRestores();
      await showRestore(r.id);
    } catch (err) {
      $('#restore-error').textContent = errorText(err);
    }
  });
}
