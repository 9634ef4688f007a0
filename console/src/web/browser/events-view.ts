import { allowed, api } from './api.ts';
import { $, button, emptyBody, row } from './dom.ts';
import { offerRestore } from './restores-view.ts';

interface EventRow {
  agent_id: string;
  hostname: string;
  type: string;
  event: { time: string; type: string; sha256?: string; threat?: string; path?: string; code?: string; message?: string };
}

/** The fleet's recent events, or one workstation's. */
export async function loadEvents(agent: { id: string; hostname: string } | null): Promise<void> {
  const path = agent ? 'agents/' + encodeURIComponent(agent.id) + '/events' : 'events';
  const { events } = await api<{ events: EventRow[] }>('GET', path);
  $('#events-title').textContent = agent ? 'Events of ' + agent.hostname : 'Recent events';
  const tbody = emptyBody('#events');
  for (const e of events) {
    const ev = e.event;
    const sha256 = ev.sha256;
    // A quarantined object can be put back from here (a false positive): the button fills the restore form.
    const restore =
      ev.type === 'quarantined' && sha256 && allowed('manage-ioc-tasks')
        ? button('restore…', () => offerRestore(sha256, 'agent:' + e.agent_id))
        : '';
    row(tbody, [ev.time, e.hostname, e.type, [ev.threat, ev.path, ev.code, ev.message].filter(Boolean).join(' · '), restore]);
  }
}
