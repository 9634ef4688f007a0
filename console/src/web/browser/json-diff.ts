// What saving a policy would change, key by key: the editor shows it before anything is sent, so a stray edit in a
// long JSON document is seen rather than deployed to every workstation of the group.

export interface Change {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

function flatten(value: unknown, path: string, out: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.length) out.set(path, '{}');
    for (const [k, v] of entries) flatten(v, path ? path + '.' + k : k, out);
    return;
  }
  // Arrays are compared whole: an item moved is a change of the list, as the agents will see it.
  out.set(path, JSON.stringify(value));
}

export function jsonChanges(before: unknown, after: unknown): Change[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before ?? {}, '', a);
  flatten(after ?? {}, '', b);
  const changes: Change[] = [];
  for (const [path, v] of a) {
    const w = b.get(path);
    if (w === undefined) changes.push({ path, kind: 'removed', before: v });
    else if (w !== v) changes.push({ path, kind: 'changed', before: v, after: w });
  }
  for (const [path, w] of b) if (!a.has(path)) changes.push({ path, kind: 'added', after: w });
  return changes.sort((x, y) => x.path.localeCompare(y.path));
}

export function describeChange(c: Change): string {
  const name = c.path || '(the whole document)';
  if (c.kind === 'added') return '+ ' + name + ' = ' + c.after;
  if (c.kind === 'removed') return '- ' + name + ' (was ' + c.before + ')';
  return '~ ' + name + ': ' + c.before + ' → ' + c.after;
}
