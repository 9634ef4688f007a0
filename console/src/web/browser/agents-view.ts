import { allowed, api } from './api.ts';
import { $, button, errorText, say, type Cell } from './dom.ts';
import { showEventsOf } from './events-view.ts';
import { patchRows } from './keyed-rows.ts';
import { pageState, type AgentRow } from './page-state.ts';
import { fillRestoreTargets } from './restores-view.ts';
import { daysUntil, relativeTime, timeCell } from './time.ts';

// The workstations: each row names the machine well enough to tell two "vm"s apart (short id, system), says whether
// it is online, and when its certificate runs out. A group change is applied only when asked, never on a drop-down
// move. The server filters, sorts and pages; the page on screen is patched in place on every refresh.

/** Certificates this close to their end are shown as a warning (they renew on their own well before: cert-renewal.ts). */
const EXPIRY_WARNING_DAYS = 30;
/** Rows per page; the server filters, sorts and pages (GET /api/agents). */
const PAGE = 100;

interface AgentPage {
  agents: AgentRow[];
  total: number;
  counts: { all: number; online: number; offline: number; revoked: number };
  /** The console CAs and how many workstations hold a certificate of each (CA rotation). */
  ca?: { next: { sha256: string } | null; agents: { onInService: number; onNext: number; onRetired: number; notReady?: number } };
}

/** During a CA rotation, how far the fleet moved; after one, who was left on the retired CA. */
function caText(ca: AgentPage['ca']): string {
  if (!ca) return '';
  const a = ca.agents;
  const parts: string[] = [];
  if (ca.next)
    parts.push(
      'CA rotation under way: ' +
        a.onNext +
        ' of ' +
        (a.onNext + a.onInService) +
        ' moved to the new CA (the rest move at their next poll)',
    );
  if (ca.next && a.notReady) parts.push(a.notReady + ' not ready for the retirement (not moved yet, or agents too old to pin the new CA)');
  if (a.onRetired) parts.push(a.onRetired + ' on a retired CA (they must enroll again)');
  return parts.length ? '. ' + parts.join('; ') : '';
}

const view = { sort: 'hostname', order: 'asc' as 'asc' | 'desc', offset: 0 };

function query(): string {
  const p = new URLSearchParams({ sort: view.sort, order: view.order, limit: String(PAGE), offset: String(view.offset) });
  const q = $<HTMLInputElement>('#agents-filter').value.trim();
  if (q) p.set('q', q);
  const state = $<HTMLSelectElement>('#agents-state').value;
  if (state) p.set('state', state);
  return p.toString();
}

export async function loadAgents(): Promise<void> {
  const page = await api<AgentPage>('GET', 'agents?' + query());
  pageState.agents = page.agents;
  fillRestoreTargets();
  const c = page.counts;
  $('#agents-counts').textContent =
    c.all + ' workstations: ' + c.online + ' online, ' + c.offline + ' offline, ' + c.revoked + ' revoked' + caText(page.ca);
  const last = Math.min(view.offset + page.agents.length, page.total);
  $('#agents-page').textContent = page.total ? view.offset + 1 + '–' + last + ' of ' + page.total : 'none match';
  $<HTMLButtonElement>('#agents-prev').disabled = view.offset === 0;
  $<HTMLButtonElement>('#agents-next').disabled = last >= page.total;
  patchRows(
    $<HTMLTableSectionElement>('#agents tbody'),
    page.agents.map((a) => ({
      key: a.id,
      cells: agentCells(a),
      // Relative times change every refresh; the row is rewritten only when a shown text or a field changes.
      signature: JSON.stringify([a, pageState.groups.map((g) => [g.id, g.name]), relativeTime(a.last_seen_at)]),
      className: a.revoked_at ? 'revoked' : '',
    })),
  );
}

function agentCells(a: AgentRow): Cell[] {
  const state = document.createElement('span');
  state.textContent = a.revoked_at ? 'revoked' : a.online ? 'online' : 'offline';
  state.className = a.revoked_at ? 'revoked' : a.online ? 'online' : 'offline';
  const host = document.createElement('span');
  host.textContent = a.hostname;
  const id = document.createElement('small');
  id.textContent = ' ' + a.id.slice(0, 8);
  id.title = a.id;
  host.append(id);
  const system = a.host ? [a.host.platform, a.host.release, a.host.arch].filter(Boolean).join(' ') : '';
  const queue = a.status?.queue ? a.status.queue.objects + ' objects' : '';
  const actions = document.createElement('span');
  actions.append(button('events', () => showEventsOf(a)));
  if (allowed('manage-policy') && !a.revoked_at)
    actions.append(
      ' ',
      button('revoke…', () => void revoke(a)),
    );
  return [
    host,
    system,
    state,
    groupCell(a),
    a.app_version,
    timeCell(a.last_seen_at),
    certificateCell(a),
    queue,
    a.status?.eventBacklog ?? '',
    actions,
  ];
}

function certificateCell(a: AgentRow): Cell {
  if (!a.cert_not_after) return '';
  const el = timeCell(a.cert_not_after);
  const days = daysUntil(a.cert_not_after);
  if (days < EXPIRY_WARNING_DAYS) {
    el.className = 'warn';
    el.textContent = (days < 0 ? 'expired ' : 'expires ') + el.textContent;
  }
  if (!a.cert_ca || a.cert_ca === 'in-service' || a.revoked_at) return el;
  // CA rotation: a certificate of the new CA (moved), or of a retired one (that workstation can no longer connect).
  const wrap = document.createElement('span');
  const tag = document.createElement('small');
  tag.textContent = a.cert_ca === 'new' ? ' new CA' : ' retired CA: enroll again';
  if (a.cert_ca === 'retired') tag.className = 'warn';
  wrap.append(el, tag);
  return wrap;
}

function groupCell(a: AgentRow): Cell {
  if (!allowed('manage-policy') || a.revoked_at) return a.group_name || '(none)';
  const wrap = document.createElement('span');
  const sel = document.createElement('select');
  sel.setAttribute('aria-label', 'group of ' + a.hostname);
  sel.append(new Option('(none)', ''));
  for (const g of pageState.groups) sel.append(new Option(g.name, String(g.id), false, g.id === a.group_id));
  const apply = button('move', () => {
    const target = sel.value ? Number(sel.value) : null;
    const name = sel.selectedOptions[0]?.textContent ?? '';
    if (!confirm('Move ' + a.hostname + ' to ' + name + "? It takes that group's policy at its next poll.")) return;
    api('POST', 'agents/' + encodeURIComponent(a.id) + '/group', { groupId: target }).then(
      () => {
        say('#agents-message', a.hostname + ' moved to ' + name, true);
        return loadAgents();
      },
      (err: unknown) => say('#agents-message', errorText(err)),
    );
  });
  apply.hidden = true;
  sel.addEventListener('change', () => (apply.hidden = sel.value === String(a.group_id ?? '')));
  wrap.append(sel, ' ', apply);
  return wrap;
}

async function revoke(a: AgentRow): Promise<void> {
  if (!confirm('Revoke ' + a.hostname + ' (' + a.id + ')? The console refuses it from now on; it must enroll again with a new token.'))
    return;
  try {
    await api('POST', 'agents/' + encodeURIComponent(a.id) + '/revoke', {});
    say('#agents-message', a.hostname + ' revoked', true);
    await loadAgents();
  } catch (err) {
    say('#agents-message', errorText(err));
  }
}

export function wireAgents(): void {
  let typing: number | undefined;
  const fromStart = () => {
    view.offset = 0;
    void loadAgents();
  };
  $<HTMLInputElement>('#agents-filter').addEventListener('input', () => {
    clearTimeout(typing);
    typing = window.setTimeout(fromStart, 250);
  });
  $<HTMLSelectElement>('#agents-state').addEventListener('change', fromStart);
  $('#agents-prev').addEventListener('click', () => {
    view.offset = Math.max(0, view.offset - PAGE);
    void loadAgents();
  });
  $('#agents-next').addEventListener('click', () => {
    view.offset += PAGE;
    void loadAgents();
  });
  // Sorting: each sortable heading is a button; a second press reverses the order.
  for (const b of document.querySelectorAll<HTMLButtonElement>('#agents th button[data-sort]')) {
    b.addEventListener('click', () => {
      const sort = b.dataset['sort'] ?? 'hostname';
      view.order = view.sort === sort && view.order === 'asc' ? 'desc' : 'asc';
      view.sort = sort;
      for (const th of document.querySelectorAll<HTMLElement>('#agents th')) th.removeAttribute('aria-sort');
      b.parentElement?.setAttribute('aria-sort', view.order === 'asc' ? 'ascending' : 'descending');
      fromStart();
    });
  }
}
