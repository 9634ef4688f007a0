import { AGENT_EVENT_TYPES } from '@sandgate/shared';

/**
 * The web console's page: its markup and style. Its code is the typed modules in `browser/` (served by
 * browser-modules.ts), which talk to the JSON API with the session cookie and the CSRF header and insert everything
 * they show as text, never as HTML.
 */
// The event types the filter offers: the agents' own list (names of letters and dashes only, safe in markup).
const EVENT_TYPE_OPTIONS = [...AGENT_EVENT_TYPES]
  .sort()
  .map((t) => `<option>${t}</option>`)
  .join('');

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sandgate console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { color-scheme: light dark; --fg: #1d2330; --bg: #f6f7f9; --card: #fff; --line: #dde1e7; --row: #eef0f3;
    --ok: #13795b; --bad: #b91c1c; --warn: #9a3412; --head: #1d2330; --link: #1d4ed8; }
  @media (prefers-color-scheme: dark) {
    :root { --fg: #e6e9ef; --bg: #12151b; --card: #1b2029; --line: #2c3340; --row: #242a35;
      --ok: #4ade80; --bad: #f87171; --warn: #fbbf24; --head: #0b0d11; --link: #93c5fd; }
  }
  body { font: 14px system-ui, sans-serif; margin: 0; color: var(--fg); background: var(--bg); }
  header { background: var(--head); color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
  header strong { margin-right: auto; }
  nav { display: flex; gap: 4px; flex-wrap: wrap; padding: 8px 20px; border-bottom: 1px solid var(--line); background: var(--card); }
  nav a { color: var(--link); text-decoration: none; padding: 4px 10px; border-radius: 4px; }
  nav a[aria-current=page] { background: var(--row); color: var(--fg); font-weight: 600; }
  main { padding: 16px 20px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--row); vertical-align: top; }
  small { opacity: .7; font-family: monospace; }
  .online { color: var(--ok); font-weight: 600; } .offline { color: var(--warn); } .revoked { opacity: .6; }
  .warn { color: var(--warn); font-weight: 600; }
  .sev-threat { color: var(--bad); font-weight: 700; } .sev-failure { color: var(--warn); font-weight: 600; } .sev-info { opacity: .75; }
  .error { color: var(--bad); white-space: pre-wrap; } .ok { color: var(--ok); white-space: pre-wrap; }
  textarea { width: 100%; height: 220px; font: 12px monospace; box-sizing: border-box; }
  .editor { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 12px; }
  @media (max-width: 640px) { .editor { grid-template-columns: minmax(0, 1fr); } }
  #policy-issues { color: var(--bad); padding-left: 18px; } #policy-issues .hint { color: var(--fg); opacity: .8; }
  #policy-keys td { font-size: 13px; } textarea[aria-invalid=true] { outline: 2px solid var(--bad); }
  button.link { background: none; border: 0; padding: 0; color: var(--link); text-decoration: underline; cursor: pointer; font: inherit; }
  #task-shares td, #restore-shares td, #policy-history td { white-space: pre-wrap; }
  code.line { display: block; padding: 8px; background: var(--row); overflow-x: auto; white-space: pre; }
  button.sort { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; color: inherit; cursor: pointer; }
  th[aria-sort=ascending] button.sort::after { content: " ▲"; } th[aria-sort=descending] button.sort::after { content: " ▼"; }
  label { margin-right: 8px; } .bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
  @media (max-width: 640px) { main, nav, header { padding-left: 8px; padding-right: 8px; } section { padding: 8px; } }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header><strong>Sandgate console</strong><span id="refresh-state" role="status"></span><span id="who"></span><button id="logout" hidden>Log out</button></header>
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
    <nav aria-label="views">
      <a href="#workstations">Workstations</a><a href="#groups">Groups and policy</a><a href="#tasks">Tasks</a>
      <a href="#restores">Quarantine and restore</a><a href="#requests">Restore requests</a><a href="#events">Events</a><a href="#audit">Audit</a><a href="#users">Users and tokens</a>
    </nav>
    <section data-view="workstations">
      <h2>Workstations</h2>
      <p id="agents-counts" role="status"></p>
      <div class="bar">
        <label>Search <input id="agents-filter" type="search" placeholder="host, id, group, version"></label>
        <label>State <select id="agents-state"><option value="">all</option><option value="online">online</option><option value="offline">offline</option><option value="revoked">revoked</option></select></label>
        <button id="agents-prev" aria-label="previous page">‹</button><span id="agents-page"></span><button id="agents-next" aria-label="next page">›</button>
      </div>
      <p id="agents-message" role="status"></p>
      <table id="agents"><thead><tr><th><button class="sort" data-sort="hostname">host</button> <small>id</small></th><th>system</th><th>state</th><th><button class="sort" data-sort="group">group</button></th><th><button class="sort" data-sort="version">version</button></th><th><button class="sort" data-sort="last_seen">last heartbeat</button></th><th><button class="sort" data-sort="cert_not_after">certificate</button></th><th>queue</th><th>backlog</th><th></th></tr></thead><tbody></tbody></table>
    </section>
    <section id="events-section" data-view="events">
      <h2 id="events-title">Events</h2>
      <div class="bar"><button id="events-all" hidden>All workstations</button>
        <label>Show <select id="events-severity"><option value="">everything</option><option value="threat">threats</option><option value="failure">failures</option><option value="info">information</option></select></label>
        <label>Type <select id="events-type"><option value="">any</option>${EVENT_TYPE_OPTIONS}</select></label>
        <button id="events-newer">‹ newer</button><span id="events-page"></span><button id="events-older">older ›</button></div>
      <table id="events"><thead><tr><th>time</th><th>severity</th><th>host <small>id</small> · group</th><th>type</th><th>details</th><th></th></tr></thead><tbody></tbody></table>
      <p id="events-empty" hidden>No event matches.</p>
    </section>
    <section data-view="groups">
      <h2>Groups</h2>
      <table id="groups"><thead><tr><th>name</th><th>members</th><th>policy revision</th><th></th></tr></thead><tbody></tbody></table>
      <form id="group-form" data-needs="manage-policy"><label>New group <input name="name" required></label> <button>Create group</button></form>
      <div id="policy-editor" hidden>
        <h3 id="policy-title"></h3>
        <p class="hint">Secrets (a server's <code>token</code>, the client certificate's <code>passphrase</code>) are write-only and show as <code>{"set": true}</code>: leave that to keep the stored value, type a new one to replace it, remove the key to clear it.</p>
        <div class="editor">
          <textarea id="policy-text" spellcheck="false" aria-label="policy document (JSON)" aria-describedby="policy-valid policy-issues"></textarea>
          <div><p id="policy-valid" role="status"></p><ul id="policy-issues" aria-label="problems in the policy"></ul></div>
        </div>
        <button id="policy-save" data-needs="manage-policy">Review changes…</button>
        <div id="policy-review" hidden>
          <h4>What saving changes</h4>
          <pre id="policy-changes"></pre>
          <button id="policy-confirm">Save policy</button> <button id="policy-cancel">Back to editing</button>
        </div>
        <details id="policy-help"><summary>Keys of a policy: what each takes, its default, what it does</summary>
          <label>Find a key <input id="policy-help-filter" type="search" placeholder="e.g. connectTimeoutMs"></label>
          <table id="policy-keys"><thead><tr><th>key</th><th>takes</th><th>default</th><th>what it does</th></tr></thead><tbody></tbody></table>
        </details>
        <h4>History</h4>
        <table id="policy-history"><thead><tr><th>revision</th><th>when</th><th>by</th><th>what changed</th><th></th></tr></thead><tbody></tbody></table>
      </div>
      <p class="error" id="group-error" role="status"></p>
    </section>
    <section data-view="tasks">
      <h2>Group tasks</h2>
      <div class="bar"><label>State <select id="tasks-state"><option value="">all</option><option value="open">open</option><option value="finished">finished</option><option value="cancelled">cancelled</option><option value="expired">expired</option></select></label></div>
      <table id="tasks"><thead><tr><th>created</th><th>group</th><th>object</th><th>threat</th><th>state</th><th>workstations</th><th>with matches</th><th></th></tr></thead><tbody></tbody></table>
      <div id="task-detail" hidden>
        <h3 id="task-title"></h3>
        <p id="task-summary"></p>
        <p id="task-witness"></p>
        <p id="task-progress"></p>
        <p id="task-empty" class="warn" role="status"></p>
        <button id="task-approve" data-needs="manage-ioc-tasks">Approve: quarantine the object's SHA-256 across the group</button>
        <button id="task-cancel" data-needs="manage-ioc-tasks">Cancel this task</button>
        <table id="task-shares"><thead><tr><th>workstation</th><th>state</th><th>wave</th><th>files</th><th>matches and actions</th><th>not evaluated there</th><th>updated</th></tr></thead><tbody></tbody></table>
        <p class="error" id="task-error" role="status"></p>
      </div>
      <form id="hunt-form" data-needs="manage-ioc-tasks">
        <h3>Hunt with your own file</h3>
        <p class="hint">OpenIOC, a STIX 2.1 bundle or indicator, or YARA rules (256 KiB at most), told apart by content and parsed again on each workstation. A hunt that quarantines reports only until another operator approves it.</p>
        <label>group <select name="group" id="hunt-group"></select></label>
        <label>file <input name="file" type="file" required></label>
        <label>where <select name="scope"><option value="critical">critical areas</option><option value="system">system drives</option><option value="paths">these paths:</option></select></label>
        <input name="paths" placeholder="~/Downloads /opt/shared" size="30">
        <label>when <select name="runMode"><option value="afterThreat">right away</option><option value="idle">while the screen is locked</option></select></label>
        <label><input type="checkbox" name="quarantine" value="1"> quarantine what matches</label>
        <label><input type="checkbox" name="dryRun" value="1"> dry run</label>
        <label>canary % <input name="canaryPercent" type="number" min="1" max="100" size="4"></label>
        <label>at most <input name="maxWorkstations" type="number" min="1" size="6"> workstations</label>
        <button type="submit">Start the hunt</button>
        <p class="error" id="hunt-error"></p>
      </form>
    </section>
    <section id="restore-section" data-view="restores">
      <h2>Restore a quarantined object</h2>
      <form id="restore-form" data-needs="manage-ioc-tasks">
        <label>SHA-256 <input name="sha256" size="70" pattern="[0-9a-f]{64}" required></label>
        <label>on <select name="where" id="restore-where"></select></label>
        <label><input type="checkbox" name="allow" value="1"> false positive: never act on it again in this group</label>
        <button type="submit">Restore</button>
      </form>
      <p class="error" id="restore-error" role="status"></p>
      <table id="restores"><thead><tr><th>asked</th><th>by</th><th>object</th><th>workstations</th><th>waiting</th><th></th></tr></thead><tbody></tbody></table>
      <div id="restore-detail" hidden>
        <h3 id="restore-title"></h3>
        <table id="restore-shares"><thead><tr><th>workstation</th><th>state</th><th>items</th><th>updated</th></tr></thead><tbody></tbody></table>
      </div>
    </section>
    <section id="requests-section" data-view="requests">
      <h2>Restore requests from employees</h2>
      <p class="hint">People ask for a quarantined download back with "Ask for restore" in their browser. Approve restores it on their workstation; a decline's reason is shown to them.</p>
      <p id="requests-counts" role="status"></p>
      <div class="bar">
        <label>Show <select id="requests-state"><option value="open">waiting for an answer</option><option value="approved">approved</option><option value="declined">declined</option></select></label>
        <button id="requests-prev" aria-label="previous page">‹</button><span id="requests-page"></span><button id="requests-next" aria-label="next page">›</button>
      </div>
      <p id="requests-message" role="status"></p>
      <table id="requests"><thead><tr><th>file</th><th>threat</th><th>workstation</th><th>asked by</th><th>asked</th><th>answer</th><th></th></tr></thead><tbody></tbody></table>
    </section>
    <section data-view="audit">
      <h2>Audit log</h2>
      <div class="bar"><label>Filter <input id="audit-filter" type="search" placeholder="who, action, target, outcome"></label>
        <button id="audit-newer">‹ newer</button><button id="audit-older">older ›</button></div>
      <table id="audit"><thead><tr><th>time</th><th>who</th><th>did</th><th>on</th><th>outcome</th></tr></thead><tbody></tbody></table>
    </section>
    <section data-view="users">
      <h2>Enroll a workstation</h2>
      <form id="token-form" data-needs="manage-policy" class="bar">
        <label>Group <select name="group" id="token-group"></select></label>
        <label>Valid for <input name="ttlHours" type="number" min="1" max="720" value="24" required> hours</label>
        <button type="submit">Make a one-time token</button>
      </form>
      <p id="token-message" role="status"></p>
      <div id="token-output" hidden><p>Run on the workstation:</p><code class="line" id="token-line"></code></div>
      <h2>Add a console user</h2>
      <form id="user-form" data-needs="manage-users" class="bar">
        <label>Name <input name="name" autocomplete="off" required></label>
        <label>Role <select name="role" id="user-role"></select></label>
        <label>Password <input name="password" type="password" autocomplete="new-password" minlength="12" required></label>
        <button type="submit">Add user</button>
      </form>
      <p id="user-message" role="status"></p>
    </section>
  </div>
</main>
<script type="module" src="/ui/main.ts"></script>
</body>
</html>
`;
