import { allowed, api } from './api.ts';
import { button, emptyBody, row } from './dom.ts';
import { loadEvents } from './events-view.ts';
import { showGroupError } from './groups-view.ts';
import { pageState, type AgentRow } from './page-state.ts';
import { fillRestoreTargets } from './restores-view.ts';
import { fillHuntGroups } from './hunts-view.ts';

export async function loadAgents(): Promise<void> {
  const { agents } = await api<{ agents: AgentRow[] }>('GET', 'agents');
  pageState.agents = agents;
  fillRestoreTargets();
  fillHuntGroups();
  const tbody = emptyBody('#agents');
  for (const a of agents) {
    const state = document.createElement('span');
    state.textContent = a.revoked_at ? 'revoked' : a.online ? 'online' : 'offline';
    state.className = a.online ? 'online' : 'offline';
    const queue = a.status?.queue ? a.status.queue.objects + ' objects' : '';
    let group: string | HTMLSelectElement = a.group_name || '(none)';
    if (allowed('manage-policy') && !a.revoked_at) {
      const sel = document.createElement('select');
      sel.append(new Option('(none)', ''));
      for (const g of pageState.groups) sel.append(new Option(g.name, String(g.id), false, g.id === a.group_id));
      sel.addEventListener('change', () => {
        api('POST', 'agents/' + encodeURIComponent(a.id) + '/group', { groupId: sel.value ? Number(sel.value) : null }).then(
          pageState.refresh,
          showGroupError,
        );
      });
      group = sel;
    }
    row(tbody, [
      a.hostname,
      state,
      group,
      a.app_version,
      a.last_seen_at,
      queue,
      a.status ? a.status.eventBacklog : '',
      button('events', () => void loadEvents(a)),
    ]);
  }
}
