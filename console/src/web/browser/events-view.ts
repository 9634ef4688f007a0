import { allowed, api } from './api.ts';
import { $, button } from './dom.ts';
import { patchRows } from './keyed-rows.ts';
import { goTo } from './nav.ts';
import { offerRestore } from './restores-view.ts';
import { severityOf } from './severity.ts';
import { timeCell } from './time.ts';

interface EventRow {
  agent_id: string;
  /** The workstation's own sequence number: with its id, the event's key. */
  seq: number | string;
  hostname: string;
  type: string;
  event: { time: string; type: string; level?: string; sha256?: string; threat?: string; path?: string; code?: string; message?: string };
}

/** Whose events the view shows: the fleet's (null) or one workstation's. Kept across refreshes. */
let shownAgent: { id: string; hostname: string } | null = null;

/** Opens the events view on one workstation (its row's "events" button). */
export function showEventsOf(agent: { id: string; hostname: string } | null): void {
  shownAgent = agent;
  goTo('events');
  void loadEvents();
}

/** The fleet's recent events, or one workstation's; refreshed with the view, patched in place. */
export async function loadEvents(): Promise<void> {
  const agent = shownAgent;
  const path = agent ? 'agents/' + encodeURIComponent(agent.id) + '/events' : 'events';
  const { events } = await api<{ events: EventRow[] }>('GET', path);
  $('#events-title').textContent = agent ? 'Events of ' + agent.hostname : 'Recent events';
  $('#events-all').hidden = !agent;
  const only = $<HTMLSelectElement>('#events-severity').value;
  const rows = events.flatMap((e) => {
    const ev = e.event;
    const sha256 = ev.sha256;
    // A quarantined object can be put back from here (a false positive): the button fills the restore form.
    const restore =
      ev.type === 'quarantined' && sha256 && allowed('manage-ioc-tasks')
        ? button('restore…', () =>
            offerRestore(sha256, 'agent:' + e.agent_id, 'workstation ' + e.hostname + ' (' + e.agent_id.slice(0, 8) + ')'),
          )
        : '';
    const details = [ev.level, ev.threat, ev.path, ev.code, ev.message].filter(Boolean).join(' · ');
    const severity = severityOf(e.type, ev.level);
    if (only && severity !== only) return [];
    const mark = document.createElement('span');
    mark.className = 'sev-' + severity;
    mark.textContent = severity;
    return {
      key: e.agent_id + '|' + String(e.seq),
      cells: [timeCell(ev.time), mark, e.hostname, e.type, details, restore],
      signature: JSON.stringify([ev, e.hostname, allowed('manage-ioc-tasks')]),
      className: 'sev-row-' + severity,
    };
  });
  patchRows($<HTMLTableSectionElement>('#events tbody'), rows);
}

export function wireEvents(): void {
  $('#events-all').addEventListener('click', () => showEventsOf(null));
  $<HTMLSelectElement>('#events-severity').addEventListener('change', () => void loadEvents());
}
