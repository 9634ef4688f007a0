import { allowed, api } from './api.ts';
import { $, button, errorText, say } from './dom.ts';
import { describeChange, jsonChanges } from './json-diff.ts';
import { patchRows } from './keyed-rows.ts';
import { pageState, type GroupRow } from './page-state.ts';

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
  $('#policy-save').addEventListener('click', () => {
    if (!editing) return;
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
    } catch (err) {
      showGroupError(err);
    }
  });
}
