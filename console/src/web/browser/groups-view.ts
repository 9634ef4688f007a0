import { allowed, api } from './api.ts';
import { $, button, errorText, say } from './dom.ts';
import { describeChange, jsonChanges } from './json-diff.ts';
import { patchRows } from './keyed-rows.ts';
import { timeCell } from './time.ts';
import { pageState, type GroupRow } from './page-state.ts';
import { loadPolicyHelp, showIssues, wirePolicyHelp, type PolicyIssue } from './policy-help.ts';

let editing: GroupRow | null = null;
/** The document as loaded into the editor: what a save is compared with. */
let loaded: unknown = null;

export function showGroupError(err: unknown): void {
  say('#group-error', errorText(err));
}

export async function loadGroups(): Promise<void> {
  ({ groups: pageState.groups } = await api<{ groups: GroupRow[] }>('GET', 'groups'));
  patchRows(
    $<HTMLTableSectionElement>('#groups tbody'),
    pageState.groups.map((g) => ({
      key: String(g.id),
      cells: [g.name, g.members, g.policy_revision, button(allowed('manage-policy') ? 'edit policy' : 'show policy', () => edit(g))],
      signature: JSON.stringify(g),
    })),
  );
}

function edit(g: GroupRow): void {
  editing = g;
  $('#policy-editor').hidden = false;
  $('#policy-title').textContent = 'Policy of ' + g.name;
  // The console-only group actions are edited in the same document; the console stores them apart from what agents get.
  const doc = g.policy || g.group_actions ? { ...(g.policy ?? {}), ...(g.group_actions ? { groupActions: g.group_actions } : {}) } : null;
  const text = $<HTMLTextAreaElement>('#policy-text');
  text.value = doc ? JSON.stringify(doc, null, 2) : '';
  loaded = doc;
  $('#policy-review').hidden = true;
  text.readOnly = !allowed('manage-policy');
  void loadHistory(g);
  void loadPolicyHelp().catch(showGroupError);
  checked = null;
  void validate();
}

/** Whether the text in the editor, as last checked, would be saved; Save waits for it. */
let checked: { text: string; valid: boolean } | null = null;
let checking = 0;
let timer = 0;

function setValid(text: string, valid: boolean, issues: readonly PolicyIssue[], note = ''): void {
  checked = { text, valid };
  showIssues(issues);
  $('#policy-valid').textContent =
    note || (valid ? 'valid' : issues.length + (issues.length === 1 ? ' problem' : ' problems') + ': fix before saving');
  $('#policy-valid').className = valid ? 'ok' : 'error';
  $<HTMLTextAreaElement>('#policy-text').setAttribute('aria-invalid', String(!valid));
  $<HTMLButtonElement>('#policy-save').disabled = !valid;
  if (!valid) $<HTMLButtonElement>('#policy-confirm').disabled = true;
}

/**
 * Checks the document as typed against the rules a save applies: JSON here, the rest by the console
 * (`POST /api/policy/validate`, the same checks as the save, secrets kept included). A later check wins over an
 * earlier one still under way.
 */
async function validate(): Promise<boolean> {
  if (!editing) return false;
  const text = $<HTMLTextAreaElement>('#policy-text').value.trim();
  if (checked?.text === text) return checked.valid;
  const mine = ++checking;
  let policy: unknown = null;
  try {
    policy = text ? JSON.parse(text) : null;
  } catch (err) {
    setValid(text, false, [{ key: '', message: 'not JSON: ' + errorText(err) }]);
    return false;
  }
  if (policy !== null && (typeof policy !== 'object' || Array.isArray(policy))) {
    setValid(text, false, [{ key: '', message: 'a policy is a JSON object ({…}), or nothing to remove it' }]);
    return false;
  }
  try {
    const r = await api<{ valid: boolean; issues: PolicyIssue[] }>('POST', 'policy/validate', { groupId: editing.id, policy });
    if (mine === checking) setValid(text, r.valid, r.issues);
    return r.valid;
  } catch (err) {
    // Not checked (the console did not answer): the save itself still validates.
    if (mine === checking) setValid(text, true, [], 'not checked: ' + errorText(err));
    return true;
  }
}

interface PolicyRevision {
  revision: number | string;
  policy: Record<string, unknown> | null;
  set_by: string;
  set_at: string;
}

/** The group's earlier policies: what each changed against the one before it, and a way back to any of them. */
async function loadHistory(g: GroupRow): Promise<void> {
  const { history } = await api<{ history: PolicyRevision[] }>('GET', 'groups/' + g.id + '/history');
  patchRows(
    $<HTMLTableSectionElement>('#policy-history tbody'),
    history.map((h, i) => {
      const older = history[i + 1];
      const changes = older ? jsonChanges(older.policy, h.policy).map(describeChange).join('\n') : '(first recorded)';
      const current = String(h.revision) === String(g.policy_revision);
      const back =
        allowed('manage-policy') && !current ? button('roll back to this…', () => void rollBack(g, h)) : current ? 'current' : '';
      return {
        key: String(h.revision),
        cells: [String(h.revision), timeCell(h.set_at), h.set_by, changes, back],
        signature: JSON.stringify([h, current]),
      };
    }),
  );
}

async function rollBack(g: GroupRow, h: PolicyRevision): Promise<void> {
  if (!confirm('Make revision ' + String(h.revision) + ' the policy of ' + g.name + ' again? Its workstations take it at their next poll.'))
    return;
  try {
    const r = await api<{ revision: number }>('POST', 'groups/' + g.id + '/rollback', { revision: Number(h.revision) });
    say('#group-error', 'rolled back: revision ' + String(h.revision) + ' is current again as revision ' + String(r.revision), true);
    await pageState.refresh();
    const fresh = pageState.groups.find((x) => x.id === g.id);
    if (fresh) edit(fresh);
  } catch (err) {
    showGroupError(err);
  }
}

export function wireGroups(): void {
  $<HTMLFormElement>('#group-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    try {
      await api('POST', 'groups', { name: f.get('name') });
      form.reset();
      say('#group-error', 'group created', true);
      await pageState.refresh();
    } catch (err) {
      showGroupError(err);
    }
  });

  // Saving is two steps: the changes key by key, then the save itself.
  wirePolicyHelp();
  $('#policy-text').addEventListener('input', () => {
    // The changes on review are those of the text before this edit: review again.
    $('#policy-review').hidden = true;
    clearTimeout(timer);
    timer = window.setTimeout(() => void validate(), 250);
  });
  $('#policy-save').addEventListener('click', async () => {
    if (!editing) return;
    clearTimeout(timer);
    if (!(await validate())) return;
    const text = $<HTMLTextAreaElement>('#policy-text').value.trim();
    let policy: unknown;
    try {
      policy = text ? JSON.parse(text) : null;
    } catch (err) {
      return showGroupError('not JSON: ' + errorText(err));
    }
    const changes = jsonChanges(loaded, policy);
    $('#policy-changes').textContent = changes.length ? changes.map(describeChange).join('\n') : 'nothing changes';
    $<HTMLButtonElement>('#policy-confirm').disabled = !changes.length;
    $('#policy-review').hidden = false;
    say('#group-error', '', true);
  });
  $('#policy-cancel').addEventListener('click', () => ($('#policy-review').hidden = true));
  $('#policy-confirm').addEventListener('click', async () => {
    if (!editing) return;
    const text = $<HTMLTextAreaElement>('#policy-text').value.trim();
    try {
      const policy: unknown = text ? JSON.parse(text) : null;
      await api('PUT', 'groups/' + editing.id + '/policy', { policy });
      $('#policy-review').hidden = true;
      loaded = policy;
      say('#group-error', "saved: the group's workstations take it at their next poll", true);
      await pageState.refresh();
      const fresh = pageState.groups.find((x) => x.id === editing?.id);
      if (fresh) void loadHistory(fresh);
    } catch (err) {
      showGroupError(err);
    }
  });
}
