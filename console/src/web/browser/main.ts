import { allowed, api, currentUser, signedIn, type ConsoleUser } from './api.ts';
import { loadAgents } from './agents-view.ts';
import { loadAudit } from './audit-view.ts';
import { $, errorText } from './dom.ts';
import { loadEvents } from './events-view.ts';
import { loadGroups, wireGroups } from './groups-view.ts';
import { pageState } from './page-state.ts';
import { loadRestore, loadRestores, wireRestores } from './restores-view.ts';
import { loadTask, loadTasks, wireTasks } from './tasks-view.ts';
import { wireHunts } from './hunts-view.ts';

// The web console's entry: log in (or pick up the session), then show every view and keep them fresh.

pageState.refresh = async () => {
  // Groups first: the workstations' group pickers and the restore targets list them.
  await loadGroups();
  await Promise.all([loadAgents(), loadAudit(), loadTasks(), loadRestores()]);
};

async function start(): Promise<void> {
  const me = currentUser();
  if (!me) return;
  $('#who').textContent = me.name + ' (' + me.role + ')';
  $('#login').hidden = true;
  $('#app').hidden = false;
  for (const el of document.querySelectorAll<HTMLElement>('[data-needs]')) el.hidden = !allowed(el.dataset['needs'] ?? '');
  await pageState.refresh();
  await loadEvents(null);
  setInterval(() => void pageState.refresh().catch(() => {}), 5000);
  setInterval(() => {
    loadTask().catch(() => {});
    loadRestore().catch(() => {});
  }, 1000);
}

interface SessionAnswer {
  csrfToken: string;
  user: ConsoleUser;
}

$<HTMLFormElement>('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.currentTarget as HTMLFormElement);
  try {
    const r = await api<SessionAnswer>('POST', 'login', { name: f.get('name'), password: f.get('password') });
    signedIn(r.csrfToken, r.user);
    await start();
  } catch (err) {
    $('#login-error').textContent = errorText(err);
  }
});

wireGroups();
wireTasks();
wireRestores();
wireHunts();

api<SessionAnswer>('GET', 'session').then(
  (s) => {
    signedIn(s.csrfToken, s.user);
    return start();
  },
  () => {},
);
