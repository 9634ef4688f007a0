import type { HashName } from './observation.ts';
import type { Node } from './indicator-tree.ts';

// What an IOC requires of a file before anything is read (a size, a name, a hash), so the set can find the few IOCs a
// file could match through an index instead of trying them all.

export type FileKey = { kind: 'size'; values: Set<number> } | { kind: 'name'; values: Set<string> };

/**
 * Values of one cheap term that every way of making the node true requires (an index key), or null. For an AND one
 * constrained child suffices; for an OR every branch must be constrained by the same term.
 */
export function requiredValues(node: Node, term: string): Set<string | number> | null {
  if (node.kind === 'and') {
    for (const c of node.children) {
      if (c.kind === 'leaf') {
        if (c.def.term === term && c.eq !== undefined) return new Set([typeof c.eq === 'string' ? c.eq.toLowerCase() : c.eq]);
      } else {
        const r = requiredValues(c, term);
        if (r) return r;
      }
    }
    return null;
  }
  const out = new Set<string | number>();
  for (const s of node.sets) {
    if (s.def.term !== term) return null;
    for (const v of s.values) out.add(typeof v === 'string' ? v.toLowerCase() : v);
  }
  for (const c of node.children) {
    if (c.kind === 'leaf') return null;
    const r = requiredValues(c, term);
    if (!r) return null;
    for (const v of r) out.add(typeof v === 'string' ? v.toLowerCase() : v);
  }
  return out;
}

/** Like `requiredValues`, for hash terms of any kind: the (hash, value) pairs a true result needs one of. */
export function requiredHashes(node: Node): Map<HashName, Set<string>> | null {
  if (node.kind === 'and') {
    for (const c of node.children) {
      if (c.kind === 'leaf') {
        if (c.def.hash && c.def.document === 'FileItem' && c.eq !== undefined) return new Map([[c.def.hash, new Set([String(c.eq)])]]);
      } else {
        const r = requiredHashes(c);
        if (r) return r;
      }
    }
    return null;
  }
  const out = new Map<HashName, Set<string>>();
  const add = (h: HashName, v: string) => {
    let s = out.get(h);
    if (!s) out.set(h, (s = new Set()));
    s.add(v);
  };
  for (const s of node.sets) {
    if (!s.def.hash || s.def.document !== 'FileItem') return null;
    for (const v of s.values) add(s.def.hash, String(v));
  }
  for (const c of node.children) {
    if (c.kind === 'leaf') return null;
    const r = requiredHashes(c);
    if (!r) return null;
    for (const [h, vs] of r) for (const v of vs) add(h, v);
  }
  return out.size > 0 ? out : null;
}

export function hasCheapFileTerm(node: Node): boolean {
  return (
    node.sets.some((s) => s.def.document === 'FileItem' && !s.def.hash) ||
    node.children.some((c) => (c.kind === 'leaf' ? c.def.document === 'FileItem' && !c.def.hash : hasCheapFileTerm(c)))
  );
}
