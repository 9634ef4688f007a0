import { allowed, api } from './api.ts';
import { $, button, errorText, say } from './dom.ts';
import { patchRows } from './keyed-rows.ts';
import { pageState, type GroupRow } from './page-state.ts';

let editing: GroupRow | null = null;

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

  $('#policy-save').addEventListener('click', async () => {
    if (!editing) return;
    const text = $<HTMLTextAreaElement>('#policy-text').value.trim();
    let policy: unknown;
    try {
      policy = text ? JSON.parse(text) : null;
    } catch (err) {
      return showGroupError('not JSON: ' + errorText(err));
    }
    try {
      await api('PUT', 'groups/' + editing.id + '/policy', { policy });
      say('#group-error', "saved: the group's workstations take it at their next poll", true);
      await pageState.refresh();
    } catch (err) {
      showGroupError(err);
    }
  });
}
