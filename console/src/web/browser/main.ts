import { allowed, api, currentUser, signedIn, signedOut, type ConsoleUser } from './api.ts';
import { loadAgents, wireAgents } from './agents-view.ts';
import { loadAudit, wireAudit } from './audit-view.ts';
import { $, errorText } from './dom.ts';
import { loadEvents, wireEvents } from './events-view.ts';
import { loadGroups, wireGroups } from './groups-view.ts';
import { currentView, wireNav, type ViewName } from './nav.ts';
import { pageState } from './page-state.ts';
import { loadRestore, loadRestores, wireRestores } from './restores-view.ts';
import { loadRequests, wireRequests } from './requests-view.ts';
import { loadTask, loadTasks, wireTasks } from './tasks-view.ts';
import { loadUsers, wireUsers } from './users-view.ts';
import { fillHuntGroups, wireHunts } from './hunts-view.ts';

// The web console's entry: log in (or pick up the session), then show the view named in the address and keep it
// fresh in place. Only what is on screen is fetched (plus the groups, which the pickers of several views list).

const LOADERS: Record<ViewName, () => Promise<void> | void> = {
  workstations: loadAgents,
  groups: () => undefined,
  tasks: loadTasks,
  restores: async () => {
    // The restore form offers every workstation as a target.
    if (!pageState.agents.length) await loadAgents();
    await loadRestores();
  },
  requests: loadRequests,
  events: loadEvents,
  audit: loadAudit,
  users: loadUsers,
};

pageState.refresh = async () => {
  await loadGroups();
  // The hunt form's group picker (tasks view).
  fillHuntGroups();
  await LOADERS[currentView()]();
};

const report = (err: unknown) => {
  $('#refresh-state').textContent = 'not refreshed: ' + errorText(err);
};
const refreshed = () => {
  $('#refresh-state').textContent = '';
};

let timers: number[] = [];

async function start(): Promise<void> {
  const me = currentUser();
  if (!me) return;
  $('#who').textContent = me.name + ' (' + me.role + ')';
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = false;
  for (const el of document.querySelectorAll<HTMLElement>('[data-needs]')) el.hidden = !allowed(el.dataset['needs'] ?? '');
  wireNav(() => void pageState.refresh().then(refreshed, report));
  timers = [
    window.setInterval(() => void pageState.refresh().then(refreshed, report), 5000),
    window.setInterval(() => {
      if (currentView() === 'tasks') loadTask().catch(() => {});
      if (currentView() === 'restores') loadRestore().catch(() => {});
    }, 1000),
  ];
}

interface SessionAnswer {
  csrfToken: string;
  user: ConsoleUser;
  roles?: string[];
}

$<HTMLFormElement>('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.currentTarget as HTMLFormElement);
  try {
    await api('POST', 'login', { name: f.get('name'), password: f.get('password') });
    // The session answer carries what the login answer does not (the roles a user can be given).
    const s = await api<SessionAnswer>('GET', 'session');
    signedIn(s.csrfToken, s.user, s.roles);
    await start();
  } catch (err) {
    $('#login-error').textContent = errorText(err);
  }
});

$('#logout').addEventListener('click', async () => {
  for (const t of timers) clearInterval(t);
  await api('POST', 'logout', {}).catch(() => {});
  signedOut();
  // A fresh page: nothing of the last session's data stays in this one.
  location.replace('/');
});

wireAgents();
wireAudit();
wireEvents();
wireGroups();
wireTasks();
wireRestores();
wireRequests();
wireUsers();
wireHunts();

api<SessionAnswer>('GET', 'session').then(
  (s) => {
    signedIn(s.csrfToken, s.user, s.roles);
    return start();
  },
  () => {},
);
