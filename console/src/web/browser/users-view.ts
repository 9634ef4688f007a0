import { api, sessionRoles } from './api.ts';
import { $, errorText, say } from './dom.ts';
import { pageState } from './page-state.ts';

// People and workstations joining: add a console user, make a one-time enrollment token and show the exact line to
// run on the workstation (the console's own address and CA fingerprint, as `sandgate-console token create` prints).

interface TokenAnswer {
  token: string;
  expiresAt: string;
  group: string | null;
  /** The line to run on the workstation, built by the console (as `token create` prints it). */
  enrollLine: string;
}

/** The roles offered and the groups a token may name, as the server knows them. */
export function loadUsers(): void {
  const role = $<HTMLSelectElement>('#user-role');
  if (!role.options.length) for (const r of sessionRoles()) role.append(new Option(r, r, false, r === 'viewer'));
  const group = $<HTMLSelectElement>('#token-group');
  const keep = group.value;
  group.replaceChildren(new Option('(no group)', ''));
  for (const g of pageState.groups) group.append(new Option(g.name, g.name));
  group.value = keep;
}

export function wireUsers(): void {
  $<HTMLFormElement>('#user-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    try {
      const u = await api<{ name: string; role: string }>('POST', 'users', {
        name: String(f.get('name') ?? ''),
        role: String(f.get('role') ?? ''),
        password: String(f.get('password') ?? ''),
      });
      form.reset();
      say('#user-message', 'added ' + u.name + ' (' + u.role + ')', true);
    } catch (err) {
      say('#user-message', errorText(err));
    }
  });
  $<HTMLFormElement>('#token-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const group = String(f.get('group') ?? '');
    const hours = Number(f.get('ttlHours') ?? 24);
    try {
      const t = await api<TokenAnswer>('POST', 'tokens', { ...(group ? { group } : {}), ttlHours: hours });
      $('#token-line').textContent = t.enrollLine;
      $('#token-output').hidden = false;
      say(
        '#token-message',
        'works once, until ' + new Date(t.expiresAt).toLocaleString() + (t.group ? ', group ' + t.group : '') + '; shown only now',
        true,
      );
    } catch (err) {
      $('#token-output').hidden = true;
      say('#token-message', errorText(err));
    }
  });
}
