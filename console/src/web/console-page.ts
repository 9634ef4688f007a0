/**
 * The web console's page: its markup and style. Its code is the typed modules in `browser/` (served by
 * browser-modules.ts), which talk to the JSON API with the session cookie and the CSRF header and insert everything
 * they show as text, never as HTML.
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
<script type="module" src="/ui/main.ts"></script>
</body>
</html>
`;
