import { allowed, api } from './api.ts';
import { $, button } from './dom.ts';
import { patchRows } from './keyed-rows.ts';
import { goTo } from './nav.ts';
import { offerRestore } from './restores-view.ts';
import { timeCell } from './time.ts';

interface EventRow {
  agent_id: string;
  /** The workstation's own sequence number: with its id, the event's key. */
  seq: number | string;
  hostname: string;
  group_name: string | null;
  type: string;
  /** Decided by the console from the type (and a verdict's level): threat, failure or info. */
  severity: string;
  /** Where the page after this event starts. */
  cursor: string;
  event: { time: string; type: string; level?: string; sha256?: string; threat?: string; path?: string; code?: string; message?: string };
}

/** Whose events the view shows: the fleet's (null) or one workstation's. Kept across refreshes. */
let shownAgent: { id: string; hostname: string } | null = null;
/** The page on screen: null is the newest; otherwise the cursor of the last event of the page before. */
const pages: Array<string | null> = [null];
const PAGE = 100;

/** Opens the events view on one workstation (its row's "events" button). */
export function showEventsOf(agent: { id: string; hostname: string } | null): void {
  shownAgent = agent;
  pages.splice(1);
  goTo('events');
  void loadEvents();
}

/** The query the filters on screen make: the console filters and pages, the page shows what it answers. */
function query(): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  const severity = $<HTMLSelectElement>('#events-severity').value;
  const type = $<HTMLSelectElement>('#events-type').value;
  const before = pages[pages.length - 1];
  if (shownAgent) q.set('agent', shownAgent.id);
  if (severity) q.set('severity', severity);
  if (type) q.set('type', type);
  if (before) q.set('before', before);
  return q.toString();
}

/** One page of the fleet's events, or one workstation's; refreshed with the view, patched in place. */
export async function loadEvents(): Promise<void> {
  const agent = shownAgent;
  const { events } = await api<{ events: EventRow[] }>('GET', 'events?' + query());
  $('#events-title').textContent = agent ? 'Events of ' + agent.hostname : 'Events';
  $('#events-all').hidden = !agent;
  $<HTMLButtonElement>('#events-newer').disabled = pages.length === 1;
  $<HTMLButtonElement>('#events-older').disabled = events.length < PAGE;
  $('#events-older').dataset['next'] = events[events.length - 1]?.cursor ?? '';
  $('#events-page').textContent = pages.length === 1 ? 'newest' : 'page ' + pages.length;
  const rows = events.map((e) => {
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
    const mark = document.createElement('span');
    mark.className = 'sev-' + e.severity;
    mark.textContent = e.severity;
    return {
      key: e.agent_id + '|' + String(e.seq),
      cells: [timeCell(ev.time), mark, host(e), e.type, details, restore],
      signature: JSON.stringify([ev, e.hostname, e.group_name, e.severity, allowed('manage-ioc-tasks')]),
      className: 'sev-row-' + e.severity,
    };
  });
  patchRows($<HTMLTableSectionElement>('#events tbody'), rows);
  $('#events-empty').hidden = rows.length > 0;
}

/** The workstation by its host name and group, its id on hover and in small type (two `vm`s stay apart). */
function host(e: EventRow): HTMLSpanElement {
  const span = document.createElement('span');
  span.title = e.agent_id;
  const id = document.createElement('small');
  id.textContent = ' ' + e.agent_id.slice(0, 8);
  span.append(e.hostname, id, e.group_name ? ' · ' + e.group_name : '');
  return span;
}

export function wireEvents(): void {
  $('#events-all').addEventListener('click', () => showEventsOf(null));
  const fromTheTop = () => {
    pages.splice(1);
    void loadEvents();
  };
  $<HTMLSelectElement>('#events-severity').addEventListener('change', fromTheTop);
  $<HTMLSelectElement>('#events-type').addEventListener('change', fromTheTop);
  $('#events-older').addEventListener('click', () => {
    const next = $('#events-older').dataset['next'];
    if (next) pages.push(next);
    void loadEvents();
  });
  $('#events-newer').addEventListener('click', () => {
    if (pages.length > 1) pages.pop();
    void loadEvents();
  });
}
