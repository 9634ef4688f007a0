/**
 * The web console: one HTML page and one script, no framework, no build step. The script talks to the JSON API with
 * the session cookie and the CSRF header; everything it shows is inserted as text, never as HTML.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sandgate console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; justify-content: space-between; }
  main { padding: 16px 20px; }
  section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
  .online { color: #13795b; font-weight: 600; } .offline { color: #9a3412; }
  .error { color: #b91c1c; white-space: pre-wrap; } textarea { width: 100%; height: 220px; font: 12px monospace; }
  #task-shares td { white-space: pre-wrap; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header><strong>Sandgate console</strong><span id="who"></span></header>
<main>
  <section id="login">
    <h2>Log in</h2>
    <form id="login-form">
      <label>User <input name="name" autocomplete="username" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Log in</button>
    </form>
    <p class="error" id="login-error"></p>
  </section>
  <div id="app" hidden>
    <section>
      <h2>Workstations</h2>
      <table id="agents"><thead><tr><th>host</th><th>state</th><th>group</th><th>version</th><th>last heartbeat</th><th>queue</th><th>backlog</th><th></th></tr></thead><tbody></tbody></table>
    </section>
    <section id="events-section">
      <h2 id="events-title">Recent events</h2>
      <table id="events"><thead><tr><th>time</th><th>host</th><th>type</th><th>details</th><th></th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Groups</h2>
      <table id="groups"><thead><tr><th>name</th><th>members</th><th>policy revision</th><th></th></tr></thead><tbody></tbody></table>
      <form id="group-form" data-needs="manage-policy"><input name="name" placeholder="new group" required> <button>Create group</button></form>
      <div id="policy-editor" hidden>
        <h3 id="policy-title"></h3>
        <p class="hint">Secrets (a server's <code>token</code>, the client certificate's <code>passphrase</code>) are write-only and show as <code>{"set": true}</code>: leave that to keep the stored value, type a new one to replace it, remove the key to clear it.</p>
        <textarea id="policy-text" spellcheck="false"></textarea>
        <button id="policy-save" data-needs="manage-policy">Save policy</button>
      </div>
      <p class="error" id="group-error"></p>
    </section>
    <section>
      <h2>Group tasks</h2>
      <table id="tasks"><thead><tr><th>created</th><th>group</th><th>object</th><th>threat</th><th>state</th><th>workstations</th><th>with matches</th><th></th></tr></thead><tbody></tbody></table>
      <div id="task-detail" hidden>
        <h3 id="task-title"></h3>
        <p id="task-summary"></p>
        <p id="task-witness"></p>
        <button id="task-approve" data-needs="manage-ioc-tasks">Approve: quarantine the object's SHA-256 across the group</button>
        <button id="task-cancel" data-needs="manage-ioc-tasks">Cancel this task</button>
        <table id="task-shares"><thead><tr><th>workstation</th><th>state</th><th>wave</th><th>files</th><th>matches and actions</th><th>not evaluated there</th><th>updated</th></tr></thead><tbody></tbody></table>
        <p class="error" id="task-error"></p>
      </div>
    </section>
    <section id="restore-section">
      <h2>Restore a quarantined object</h2>
      <form id="restore-form" data-needs="manage-ioc-tasks">
        <label>SHA-256 <input name="sha256" size="70" pattern="[0-9a-f]{64}" required></label>
        <label>on <select name="where" id="restore-where"></select></label>
        <label><input type="checkbox" name="allow" value="1"> false positive: never act on it again in this group</label>
        <button type="submit">Restore</button>
      </form>
      <p class="error" id="restore-error"></p>
      <table id="restores"><thead><tr><th>asked</th><th>by</th><th>object</th><th>workstations</th><th>waiting</th><th></th></tr></thead><tbody></tbody></table>
      <div id="restore-detail" hidden>
        <h3 id="restore-title"></h3>
        <table id="restore-shares"><thead><tr><th>workstation</th><th>state</th><th>items</th><th>updated</th></tr></thead><tbody></tbody></table>
      </div>
    </section>
    <section>
      <h2>Audit log</h2>
      <table id="audit"><thead><tr><th>time</th><th>who</th><th>did</th><th>on</th><th>outcome</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
</main>
<script src="/console.js"></script>
</body>
</html>
`;

export const CONSOLE_JS = `'use strict';
let csrf = '';
let me = null;
let groups = [];
let editing = null;
const $ = (s) => document.querySelector(s);

async function api(method, path, body) {
  const headers = { 'content-type': 'application/json' };
  if (csrf) headers['x-sandgate-csrf'] = csrf;
  const r = await fetch('/api/' + path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error && (data.error.code + ': ' + data.error.message)) || ('HTTP ' + r.status));
  return data;
}

function row(tbody, cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.append(c); else td.textContent = c == null ? '' : String(c);
    tr.append(td);
  }
  tbody.append(tr);
  return tr;
}

function button(text, onClick) {
  const b = document.createElement('button');
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

const allowed = (p) => me && me.permissions.includes(p);

async function loadAgents() {
  const { agents } = await api('GET', 'agents');
  agentsSeen = agents;
  fillRestoreTargets();
  const tbody = $('#agents tbody');
  tbody.replaceChildren();
  for (const a of agents) {
    const state = document.createElement('span');
    state.textContent = a.revoked_at ? 'revoked' : a.online ? 'online' : 'offline';
    state.className = a.online ? 'online' : 'offline';
    const q = a.status && a.status.queue ? a.status.queue.objects + ' objects' : '';
    let group = a.group_name || '(none)';
    if (allowed('manage-policy') && !a.revoked_at) {
      const sel = document.createElement('select');
      sel.append(new Option('(none)', ''));
      for (const g of groups) sel.append(new Option(g.name, String(g.id), false, g.id === a.group_id));
      sel.addEventListener('change', () => api('POST', 'agents/' + encodeURIComponent(a.id) + '/group', { groupId: sel.value ? Number(sel.value) : null }).then(refresh, showGroupError));
      group = sel;
    }
    row(tbody, [a.hostname, state, group, a.app_version, a.last_seen_at, q, a.status ? a.status.eventBacklog : '', button('events', () => loadEvents(a))]);
  }
}

async function loadEvents(agent) {
  const path = agent ? 'agents/' + encodeURIComponent(agent.id) + '/events' : 'events';
  const { events } = await api('GET', path);
  $('#events-title').textContent = agent ? 'Events of ' + agent.hostname : 'Recent events';
  const tbody = $('#events tbody');
  tbody.replaceChildren();
  for (const e of events) {
    const ev = e.event;
    // A quarantined object can be put back from here (a false positive): the button fills the restore form.
    const restore = ev.type === 'quarantined' && ev.sha256 && allowed('manage-ioc-tasks')
      ? button('restore…', () => { $('#restore-form').elements.sha256.value = ev.sha256; $('#restore-where').value = 'agent:' + e.agent_id; $('#restore-form').scrollIntoView(); })
      : '';
    row(tbody, [ev.time, e.hostname, e.type, [ev.threat, ev.path, ev.code, ev.message].filter(Boolean).join(' · '), restore]);
  }
}

async function loadGroups() {
  ({ groups } = await api('GET', 'groups'));
  const tbody = $('#groups tbody');
  tbody.replaceChildren();
  for (const g of groups) row(tbody, [g.name, g.members, g.policy_revision, button(allowed('manage-policy') ? 'edit policy' : 'show policy', () => edit(g))]);
}

function edit(g) {
  editing = g;
  $('#policy-editor').hidden = false;
  $('#policy-title').textContent = 'Policy of ' + g.name;
  // The console-only group actions are edited in the same document; the console stores them apart from what agents get.
  const doc = g.policy || g.group_actions ? Object.assign({}, g.policy || {}, g.group_actions ? { groupActions: g.group_actions } : {}) : null;
  $('#policy-text').value = doc ? JSON.stringify(doc, null, 2) : '';
  $('#policy-text').readOnly = !allowed('manage-policy');
}

async function loadAudit() {
  const { entries } = await api('GET', 'audit');
  const tbody = $('#audit tbody');
  tbody.replaceChildren();
  for (const e of entries) row(tbody, [e.at, e.actor, e.action, e.target, e.outcome + (e.details && e.details.code ? ' (' + e.details.code + ')' : '')]);
}

let openTask = null;
async function loadTasks() {
  const { tasks } = await api('GET', 'tasks');
  const tbody = $('#tasks tbody');
  tbody.replaceChildren();
  for (const t of tasks) {
    row(tbody, [t.created_at, t.group_name, (t.file_name || '') + ' ' + t.sha256.slice(0, 12) + '…' + (t.dry_run ? ' (dry run)' : ''), t.threat, t.state + (t.state === 'open' && t.awaiting_witness ? ' (awaiting a second witness)' : ''), t.shares + ' (' + t.open_shares + ' open)', t.matched_shares, button('open', () => showTask(t.id))]);
  }
}

async function showTask(id) {
  openTask = id;
  $('#task-detail').hidden = false;
  await loadTask();
}

// The task page refreshes every second while it is open: states and matches arrive as the workstations report them.
async function loadTask() {
  if (!openTask) return;
  const { task } = await api('GET', 'tasks/' + encodeURIComponent(openTask));
  $('#task-title').textContent = 'Task ' + task.id + ' — ' + (task.threat || 'malicious object') + (task.options.dryRun ? ' (dry run)' : '');
  const c = task.counts;
  const parts = [task.state, 'found on ' + (task.source.hostname || '?'), 'group ' + task.group.name, 'expires ' + task.expiresAt];
  if (c['match:quarantined']) parts.push(c['match:quarantined'] + ' quarantined');
  if (c['match:would-quarantine']) parts.push('would quarantine ' + c['match:would-quarantine'] + ' object(s)');
  if (c['match:kept-never-quarantine']) parts.push(c['match:kept-never-quarantine'] + ' kept (never quarantine)');
  if (c['match:awaiting-witness']) parts.push(c['match:awaiting-witness'] + ' object(s) to quarantine once witnessed');
  $('#task-summary').textContent = parts.join(' · ');
  // Why the task does or does not act yet: its second witness (console/DESIGN.md, issue 14).
  $('#task-witness').textContent = task.witness.summary;
  $('#task-approve').hidden = !allowed('manage-ioc-tasks') || task.witness.state !== 'awaiting';
  $('#task-cancel').hidden = !allowed('manage-ioc-tasks') || task.state !== 'open';
  const tbody = $('#task-shares tbody');
  tbody.replaceChildren();
  for (const s of task.shares) {
    const state = s.state + (s.pauseReason ? ' (' + s.pauseReason + ')' : '') + (s.cancelRequested && s.storedState !== 'cancelled' ? ' (cancel sent)' : '') + (s.error ? ' ' + s.error.code : '');
    // A publisher's keep says so (NEVER_QUARANTINE_PUBLISHER); a failed quarantine says why.
    const why = (m) => m.code === 'NEVER_QUARANTINE_PUBLISHER' ? ' (signed by a never-quarantine publisher)' : m.code === 'GROUP_TASK_NOT_THE_OBJECT' ? ' (not the object: another SHA-256)' : m.code && m.action !== 'awaiting-witness' ? ' (' + m.code + ')' : '';
    const matches = s.matches.map((m) => m.path + ' → ' + m.action + why(m)).join('\\n');
    // Terms the workstation has no collector for: its "no match" says nothing about them.
    const unsupported = (s.unsupported || []).map((u) => u.term + ' (' + u.reason + ')').join('\\n') + (s.termCounts && s.termCounts.unsupported > (s.unsupported || []).length ? '\\n… ' + s.termCounts.unsupported + ' in all' : '');
    row(tbody, [s.hostname, state, s.wave, s.filesDone, matches, unsupported, s.updatedAt]);
  }
}

$('#task-approve').addEventListener('click', async () => {
  if (!openTask || !confirm('Approve this task as its second witness? Every workstation of the group will quarantine files with this SHA-256.')) return;
  try { await api('POST', 'tasks/' + encodeURIComponent(openTask) + '/approve', {}); await loadTask(); } catch (err) { $('#task-error').textContent = String(err.message || err); }
});

$('#task-cancel').addEventListener('click', async () => {
  if (!openTask) return;
  try { await api('POST', 'tasks/' + encodeURIComponent(openTask) + '/cancel', {}); await loadTask(); } catch (err) { $('#task-error').textContent = String(err.message || err); }
});

let agentsSeen = [];
function fillRestoreTargets() {
  const sel = $('#restore-where');
  const keep = sel.value;
  sel.replaceChildren();
  for (const g of groups) sel.append(new Option('every workstation of ' + g.name, 'group:' + g.id));
  for (const a of agentsSeen) if (!a.revoked_at) sel.append(new Option('workstation ' + a.hostname, 'agent:' + a.id));
  if (keep) sel.value = keep;
}

let openRestore = null;
async function loadRestores() {
  const { restores } = await api('GET', 'restores');
  const tbody = $('#restores tbody');
  tbody.replaceChildren();
  for (const r of restores) row(tbody, [r.created_at, r.created_by, r.sha256.slice(0, 12) + '…', r.shares, r.pending, button('open', () => showRestore(r.id))]);
}

async function showRestore(id) {
  openRestore = id;
  $('#restore-detail').hidden = false;
  await loadRestore();
}

// Like a task, an open restore refreshes every second: each workstation's outcome appears as it reports.
async function loadRestore() {
  if (!openRestore) return;
  const { restore } = await api('GET', 'restores/' + encodeURIComponent(openRestore));
  $('#restore-title').textContent = 'Restore of ' + restore.sha256 + ' asked by ' + restore.createdBy;
  const tbody = $('#restore-shares tbody');
  tbody.replaceChildren();
  for (const s of restore.shares) {
    const items = s.items.map((i) => i.path + ' → ' + i.outcome + (i.code ? ' (' + i.code + ')' : '')).join('\\n') || (s.state === 'done' ? 'nothing quarantined with this SHA-256' : '');
    row(tbody, [s.hostname, s.state + (s.error ? ' ' + s.error.code : ''), items, s.updatedAt]);
  }
}

$('#restore-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const where = String(f.get('where') || '');
  const body = { sha256: String(f.get('sha256')).trim().toLowerCase() };
  if (where.startsWith('group:')) body.groupId = Number(where.slice(6)); else body.agentId = where.slice(6);
  if (f.get('allow')) body.allow = true;
  try {
    const r = await api('POST', 'quarantine/restore', body);
    $('#restore-error').textContent = '';
    await loadRestores();
    await showRestore(r.id);
  } catch (err) { $('#restore-error').textContent = String(err.message || err); }
});

function showGroupError(err) { $('#group-error').textContent = String(err.message || err); }

async function refresh() {
  await loadGroups();
  await Promise.all([loadAgents(), loadAudit(), loadTasks(), loadRestores()]);
}

async function start() {
  $('#who').textContent = me.name + ' (' + me.role + ')';
  $('#login').hidden = true;
  $('#app').hidden = false;
  for (const el of document.querySelectorAll('[data-needs]')) el.hidden = !allowed(el.dataset.needs);
  await refresh();
  await loadEvents(null);
  setInterval(() => { refresh().catch(() => {}); }, 5000);
  setInterval(() => { loadTask().catch(() => {}); loadRestore().catch(() => {}); }, 1000);
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const r = await api('POST', 'login', { name: f.get('name'), password: f.get('password') });
    csrf = r.csrfToken;
    me = r.user;
    await start();
  } catch (err) {
    $('#login-error').textContent = String(err.message || err);
  }
});

$('#group-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try { await api('POST', 'groups', { name: f.get('name') }); ev.target.reset(); $('#group-error').textContent = ''; await refresh(); } catch (err) { showGroupError(err); }
});

$('#policy-save').addEventListener('click', async () => {
  if (!editing) return;
  let policy;
  try { policy = $('#policy-text').value.trim() ? JSON.parse($('#policy-text').value) : null; } catch (err) { return showGroupError('not JSON: ' + err.message); }
  try { await api('PUT', 'groups/' + editing.id + '/policy', { policy }); $('#group-error').textContent = 'saved'; await refresh(); } catch (err) { showGroupError(err); }
});

api('GET', 'session').then((s) => { csrf = s.csrfToken; me = s.user; return start(); }, () => {});
`;
