import { allowed, api } from './api.ts';
import { $, button, errorText, say } from './dom.ts';
import { patchRows } from './keyed-rows.ts';
import { timeCell } from './time.ts';

interface TaskRow {
  id: string;
  kind?: string;
  hunt_format?: string | null;
  created_at: string;
  group_name: string;
  file_name: string | null;
  sha256: string;
  dry_run: boolean;
  threat: string | null;
  state: string;
  awaiting_witness: boolean;
  shares: number;
  open_shares: number;
  matched_shares: number;
}

interface ShareMatch {
  path: string;
  sha256?: string;
  action: string;
  code?: string;
}

interface TaskShare {
  hostname: string;
  state: string;
  storedState?: string;
  pauseReason?: string;
  cancelRequested?: boolean;
  error?: { code: string };
  wave: number;
  filesDone: number;
  matches: ShareMatch[];
  unsupported?: Array<{ term: string; reason: string }>;
  termCounts?: { unsupported: number };
  updatedAt: string;
}

interface TaskDetail {
  id: string;
  threat: string | null;
  state: string;
  options: { dryRun: boolean };
  counts: Record<string, number | undefined>;
  source: { hostname: string | null };
  group: { name: string };
  expiresAt: string;
  witness: { state: string; summary: string; witnessedAt?: string; lookedUpAt?: string };
  shares: TaskShare[];
}

let openTask: string | null = null;

/** Each listed task's state as the list last showed it: the open task's detail reloads the list when they differ. */
let listedState = new Map<string, string>();

export async function loadTasks(): Promise<void> {
  const { tasks } = await api<{ tasks: TaskRow[] }>('GET', 'tasks');
  listedState = new Map(tasks.map((t) => [t.id, t.state + (t.state === 'open' && t.awaiting_witness ? ' awaiting' : '')]));
  const state = $<HTMLSelectElement>('#tasks-state').value;
  patchRows(
    $<HTMLTableSectionElement>('#tasks tbody'),
    tasks
      .filter((t) => !state || t.state === state)
      .map((t) => ({
        key: t.id,
        cells: [
          timeCell(t.created_at),
          t.group_name,
          (t.file_name || '') + ' ' + t.sha256.slice(0, 12) + '…' + (t.dry_run ? ' (dry run)' : ''),
          t.kind === 'hunt' ? 'hunt (' + (t.hunt_format ?? '?') + ')' : t.threat,
          t.state + (t.state === 'open' && t.awaiting_witness ? ' (awaiting a second witness)' : ''),
          progress(t),
          t.matched_shares,
          button('open', () => void showTask(t.id)),
        ],
        signature: JSON.stringify(t),
      })),
  );
}

/** How far the fan-out is: a bar of the workstations that have finished their share, and the count. */
function progress(t: TaskRow): HTMLElement {
  const wrap = document.createElement('span');
  const bar = document.createElement('progress');
  bar.max = Math.max(1, t.shares);
  bar.value = t.shares - t.open_shares;
  bar.setAttribute('aria-label', 'workstations finished');
  wrap.append(bar, ' ' + (t.shares - t.open_shares) + ' / ' + t.shares + ' done');
  return wrap;
}

export async function showTask(id: string): Promise<void> {
  openTask = id;
  $('#task-detail').hidden = false;
  await loadTask();
}

/** Why a match was or was not acted on: a publisher's keep, another SHA-256, a failed quarantine's code. */
function why(m: ShareMatch): string {
  if (m.code === 'NEVER_QUARANTINE_PUBLISHER') return ' (signed by a never-quarantine publisher)';
  if (m.code === 'GROUP_TASK_NOT_THE_OBJECT') return ' (not the object: another SHA-256)';
  if (m.code) return m.action !== 'awaiting-witness' ? ' (' + m.code + ')' : '';
  // The agent leaves the code out when nothing was asked of the match: say which of the two cases it is.
  if (m.action === 'reported')
    return m.sha256
      ? ' (reported only: this task did not ask to quarantine it)'
      : ' (not a file: only files with a SHA-256 are quarantined)';
  return '';
}

/** The open task, refreshed every second while it is open: states and matches arrive as the workstations report them. */
export async function loadTask(): Promise<void> {
  if (!openTask) return;
  const { task } = await api<{ task: TaskDetail }>('GET', 'tasks/' + encodeURIComponent(openTask));
  // The detail refreshes every second, the list every five: a change seen here reaches the list at once, so the two
  // never show the same task in different states for long.
  const shown = task.state + (task.state === 'open' && task.witness.state === 'awaiting' ? ' awaiting' : '');
  if (listedState.has(task.id) && listedState.get(task.id) !== shown) void loadTasks();
  $('#task-title').textContent =
    'Task ' + task.id + ' — ' + (task.threat || 'malicious object') + (task.options.dryRun ? ' (dry run)' : '');
  const c = task.counts;
  const parts = [
    task.state,
    'found on ' + (task.source.hostname || '?'),
    'group ' + task.group.name,
    'expires ' + new Date(task.expiresAt).toLocaleString(),
  ];
  if (c['match:quarantined']) parts.push(c['match:quarantined'] + ' quarantined');
  if (c['match:would-quarantine']) parts.push('would quarantine ' + c['match:would-quarantine'] + ' object(s)');
  if (c['match:kept-never-quarantine']) parts.push(c['match:kept-never-quarantine'] + ' kept (never quarantine)');
  if (c['match:awaiting-witness']) parts.push(c['match:awaiting-witness'] + ' object(s) to quarantine once witnessed');
  $('#task-summary').textContent = parts.join(' · ');
  // Why the task does or does not act yet: its second witness (console/DESIGN.md).
  // Its times come as data and read as "3 min ago", the local time on hover, like every time on the page.
  const w = task.witness;
  const witnessText = w.summary + (w.witnessedAt ? ', ' : w.lookedUpAt ? ' The sandbox was last asked ' : '');
  const when = w.witnessedAt ?? w.lookedUpAt;
  $('#task-witness').replaceChildren(witnessText, ...(when ? [timeCell(when), w.witnessedAt ? '' : '.'] : []));
  $('#task-approve').hidden = !allowed('manage-ioc-tasks') || task.witness.state !== 'awaiting';
  $('#task-cancel').hidden = !allowed('manage-ioc-tasks') || task.state !== 'open';
  // Where the fan-out stands, by each workstation's share, and the shares that finished having looked at nothing.
  const byState = new Map<string, number>();
  for (const s of task.shares) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
  $('#task-progress').textContent = task.shares.length + ' workstations: ' + [...byState].map(([k, n]) => n + ' ' + k).join(', ');
  const empty = task.shares.filter((s) => s.state === 'done' && !s.filesDone).length;
  $('#task-empty').textContent = empty
    ? empty + ' workstation(s) finished having scanned no file: check the task scope exists on them'
    : '';
  const rows = task.shares.map((s, i) => {
    const state =
      s.state +
      (s.pauseReason ? ' (' + s.pauseReason + ')' : '') +
      (s.cancelRequested && s.storedState !== 'cancelled' ? ' (cancel sent)' : '') +
      (s.error ? ' ' + s.error.code : '');
    const matches = s.matches.map((m) => m.path + ' → ' + m.action + why(m)).join('\n');
    // Terms the workstation has no collector for: its "no match" says nothing about them.
    const listed = s.unsupported ?? [];
    const more = s.termCounts && s.termCounts.unsupported > listed.length ? '\n… ' + s.termCounts.unsupported + ' in all' : '';
    const unsupported = listed.map((u) => u.term + ' (' + u.reason + ')').join('\n') + more;
    return {
      key: s.hostname + '|' + i,
      cells: [s.hostname, state, s.wave, s.filesDone, matches, unsupported, timeCell(s.updatedAt)],
      signature: JSON.stringify(s),
      className: s.state === 'done' && !s.filesDone ? 'warn' : '',
    };
  });
  patchRows($<HTMLTableSectionElement>('#task-shares tbody'), rows);
}

export function wireTasks(): void {
  $<HTMLSelectElement>('#tasks-state').addEventListener('change', () => void loadTasks());
  $('#task-approve').addEventListener('click', async () => {
    if (
      !openTask ||
      !confirm('Approve this task as its second witness? Every workstation of the group will quarantine files with this SHA-256.')
    )
      return;
    try {
      await api('POST', 'tasks/' + encodeURIComponent(openTask) + '/approve', {});
      say('#task-error', 'approved', true);
      await loadTask();
    } catch (err) {
      say('#task-error', errorText(err));
    }
  });
  $('#task-cancel').addEventListener('click', async () => {
    if (!openTask || !confirm('Cancel this task on every workstation of the group?')) return;
    try {
      await api('POST', 'tasks/' + encodeURIComponent(openTask) + '/cancel', {});
      say('#task-error', 'cancel sent', true);
      await loadTask();
    } catch (err) {
      say('#task-error', errorText(err));
    }
  });
}
