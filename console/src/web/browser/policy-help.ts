import { api } from './api.ts';
import { $ } from './dom.ts';

// The policy editor's explanations: every key of the document with what it takes, its default and what it does, as
// the console reads them from the schema the agents validate with (`GET /api/policy-schema`), and the problems of the
// document being typed, each next to its key's explanation.

export interface PolicyKey {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

export interface PolicyIssue {
  key: string;
  message: string;
}

let keys: PolicyKey[] = [];

/** Loads the keys once per page and fills the help table. */
export async function loadPolicyHelp(): Promise<void> {
  if (keys.length) return;
  ({ keys } = await api<{ keys: PolicyKey[] }>('GET', 'policy-schema'));
  const body = $<HTMLTableSectionElement>('#policy-keys tbody');
  body.replaceChildren(
    ...keys.map((k) => {
      const tr = document.createElement('tr');
      tr.dataset['key'] = k.path;
      const name = document.createElement('code');
      name.textContent = k.path;
      const cells: Array<Node | string> = [
        name,
        k.type + (k.required ? ' (required)' : ''),
        k.default === undefined ? '' : JSON.stringify(k.default),
        k.description,
      ];
      tr.replaceChildren(
        ...cells.map((c) => {
          const td = document.createElement('td');
          td.append(c);
          return td;
        }),
      );
      return tr;
    }),
  );
  filterHelp();
}

/** Shows the keys whose path or description holds what was typed in the help's search field. */
function filterHelp(): void {
  const needle = $<HTMLInputElement>('#policy-help-filter').value.trim().toLowerCase();
  for (const tr of $<HTMLTableSectionElement>('#policy-keys tbody').rows) {
    const k = keys.find((x) => x.path === tr.dataset['key']);
    tr.hidden = !!needle && !!k && !k.path.toLowerCase().includes(needle) && !k.description.toLowerCase().includes(needle);
  }
}

/** Opens the help on one key. */
export function showKey(path: string): void {
  $<HTMLInputElement>('#policy-help-filter').value = path;
  $<HTMLDetailsElement>('#policy-help').open = true;
  filterHelp();
}

/** The schema's key for a key of a document: `sandbox.servers.0.url` is `sandbox.servers[].url`, a map's entry `*`. */
export function keyOf(issueKey: string): PolicyKey | undefined {
  const path = issueKey.replace(/\.(\d+)(?=\.|$)/g, '[]');
  return keys.find((k) => k.path === path) ?? keys.find((k) => k.path === path.replace(/\.[^.]+$/, '.*'));
}

/** The document's problems, each with its key, the message and what the key is for; empty when there are none. */
export function showIssues(issues: readonly PolicyIssue[]): void {
  $('#policy-issues').replaceChildren(
    ...issues.map((i) => {
      const li = document.createElement('li');
      const name = document.createElement('code');
      name.textContent = i.key || '(the document)';
      li.append(name, ': ' + i.message);
      const k = i.key ? keyOf(i.key) : undefined;
      if (k) {
        const about = document.createElement('button');
        about.type = 'button';
        about.className = 'link';
        about.textContent = 'about this key';
        about.addEventListener('click', () => showKey(k.path));
        li.append(' ', about);
        const hint = document.createElement('div');
        hint.className = 'hint';
        hint.textContent = k.description + (k.default === undefined ? '' : ' Default: ' + JSON.stringify(k.default) + '.');
        li.append(hint);
      }
      return li;
    }),
  );
}

export function wirePolicyHelp(): void {
  $<HTMLInputElement>('#policy-help-filter').addEventListener('input', filterHelp);
}
