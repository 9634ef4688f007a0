// The page's side of the console's JSON API: the session (its CSRF token and user) and one call. The answers come
// from this console over the same TLS session the page was loaded on; they are shown as text, and each view names
// the fields it reads in its own interfaces.

export interface ConsoleUser {
  name: string;
  role: string;
  permissions: string[];
}

interface Session {
  csrf: string;
  me: ConsoleUser | null;
  roles: string[];
}

const session: Session = { csrf: '', me: null, roles: [] };

export function signedIn(csrfToken: string, user: ConsoleUser, roles: string[] = []): void {
  session.csrf = csrfToken;
  session.me = user;
  session.roles = roles;
}

export function signedOut(): void {
  session.csrf = '';
  session.me = null;
}

/** The roles a console user can have (from the session answer). */
export const sessionRoles = (): readonly string[] => session.roles;

export const currentUser = (): ConsoleUser | null => session.me;

/** Whether the signed-in user's role grants a permission (the server checks again; this only hides controls). */
export const allowed = (permission: string): boolean => session.me?.permissions.includes(permission) ?? false;

interface ErrorBody {
  error?: { code?: string; message?: string };
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (session.csrf) headers['x-sandgate-csrf'] = session.csrf;
  const r = await fetch('/api/' + path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data: unknown = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = (data as ErrorBody).error;
    throw new Error(e?.code ? `${e.code}: ${e.message ?? ''}` : `HTTP ${r.status}`);
  }
  return data as T;
}
