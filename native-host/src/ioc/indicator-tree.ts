import type { IocIndicator, IocItem } from '@sandgate/shared';
import { compileCondition } from './conditions.ts';
import type { IocWarning, UnsupportedTerm } from './indicator-set.ts';
import type { DocumentName, FileObservation, HashName, Observation } from './observation.ts';
import { findTerm, notCollectedReason, type Platform, type TermDef, type TermValue } from './term-table.ts';

// One IOC as a tree of AND/OR nodes over compiled terms, and its three-valued evaluation against one observation:
// true, false, or unknown until the hashes it asks for are read (compile-indicator-set.ts decides when to read them).

export const F = 0;
export const T = 1;
export const U = 2;
export type Tri = typeof F | typeof T | typeof U;

export interface Leaf {
  kind: 'leaf';
  def: TermDef;
  test: (v: TermValue) => boolean;
  /** Set for a positive equality (a possible index key). */
  eq?: string | number;
}

/** Positive equality leaves of one term under one OR, as a lookup table (value as compared → nothing). */
export interface EqSet {
  def: TermDef;
  fold: boolean;
  values: Set<string | number>;
}

export interface Node {
  kind: 'and' | 'or';
  id: string;
  line: number;
  children: (Node | Leaf)[];
  sets: EqSet[];
  /** Documents a single observation must be for this node to be true. */
  docs: Set<DocumentName>;
  /** Hash kinds any FileItem term below asks for (a plan reads them all when the node is undecided). */
  hashes: Set<HashName>;
}

export interface Facts {
  hashes?: Partial<Record<HashName, string>>;
}

export interface CompileContext {
  file: string;
  platform: Platform | 'any';
  unavailable: ReadonlyMap<string, string> | undefined;
  unsupported: UnsupportedTerm[];
  warnings: IocWarning[];
  leaves: number;
  items: number;
}

/** Returns null when the node can never be true (unevaluable AND, OR with nothing left, empty indicator). */
export function compileNode(ind: IocIndicator, ctx: CompileContext): Node | null {
  const node: Node = {
    kind: ind.operator === 'AND' ? 'and' : 'or',
    id: ind.id,
    line: ind.line,
    children: [],
    sets: [],
    docs: new Set(),
    hashes: new Set(),
  };
  const start = ctx.leaves;
  let dead = false;
  let leaves = 0;
  for (const child of ind.children) {
    if (child.kind === 'indicator') {
      const sub = compileNode(child, ctx);
      if (sub) node.children.push(sub);
      else if (node.kind === 'and') {
        dead = true;
        ctx.warnings.push({
          file: ctx.file,
          itemId: ind.id,
          line: ind.line,
          message: `AND ${ind.id} (line ${ind.line}) can never match: its branch ${child.id} (line ${child.line}) has no term Sandgate evaluates`,
        });
      }
      continue;
    }
    ctx.items++;
    const compiled = compileItem(child, ctx);
    if ('reason' in compiled) {
      const where = node.kind === 'or' ? `dropped from OR ${ind.id}` : `so AND ${ind.id} (line ${ind.line}) can never match`;
      ctx.unsupported.push({ file: ctx.file, itemId: child.id, term: child.search, reason: `${compiled.reason}; ${where}` });
      if (node.kind === 'and') dead = true;
      continue;
    }
    leaves++;
    if (node.kind === 'or' && compiled.eq !== undefined) addToSet(node, compiled.def, compiled.fold, compiled.eq);
    else
      node.children.push({
        kind: 'leaf',
        def: compiled.def,
        test: compiled.test,
        ...(compiled.eq === undefined ? {} : { eq: compiled.eq }),
      });
  }
  if (dead) {
    // None of its terms is evaluated: take back what its sub-indicators counted.
    ctx.leaves = start;
    return null;
  }
  ctx.leaves += leaves;
  if (node.children.length === 0 && node.sets.length === 0) {
    if (ind.children.length === 0)
      ctx.warnings.push({ file: ctx.file, itemId: ind.id, line: ind.line, message: `Indicator ${ind.id} is empty and never matches` });
    return null;
  }
  for (const c of [...node.children, ...node.sets]) {
    if ('hashes' in c) for (const h of c.hashes) node.hashes.add(h);
    else if (c.def.hash) node.hashes.add(c.def.hash);
  }
  const childDocs = [...node.children.map(docsOf), ...node.sets.map((s) => new Set([s.def.document]))];
  if (node.kind === 'or') for (const d of childDocs) for (const x of d) node.docs.add(x);
  else {
    node.docs = new Set(childDocs[0]);
    for (const d of childDocs.slice(1)) for (const x of node.docs) if (!d.has(x)) node.docs.delete(x);
    if (node.docs.size === 0) {
      const mixed = [...new Set(childDocs.flatMap((d) => [...d]))].join(' and ');
      ctx.warnings.push({
        file: ctx.file,
        itemId: ind.id,
        line: ind.line,
        message: `AND ${ind.id} (line ${ind.line}) needs ${mixed} terms true at once; each observation is one document, so it never matches`,
      });
    }
  }
  return node;
}

function docsOf(c: Node | Leaf): Set<DocumentName> {
  return c.kind === 'leaf' ? new Set([c.def.document]) : c.docs;
}

function addToSet(node: Node, def: TermDef, fold: boolean, eq: string | number): void {
  let set = node.sets.find((s) => s.def === def && s.fold === fold);
  if (!set) node.sets.push((set = { def, fold, values: new Set() }));
  set.values.add(eq);
}

type CompiledItem = { def: TermDef; test: (v: TermValue) => boolean; eq?: string | number; fold: boolean } | { reason: string };

function compileItem(item: IocItem, ctx: Pick<CompileContext, 'platform' | 'unavailable'>): CompiledItem {
  const def = findTerm(item.search);
  if (!def) return { reason: `term ${item.search} is not evaluated by Sandgate` };
  const missing =
    ctx.platform === 'any' ? undefined : (notCollectedReason(def, ctx.platform) ?? ctx.unavailable?.get(def.term.toLowerCase()));
  if (missing) return { reason: missing };
  const c = compileCondition(item, def);
  if (!c.ok) return { reason: c.reason };
  const fold = def.type === 'hash' || def.type === 'ip' || (def.type === 'string' && !item.preserveCase);
  return c.eq === undefined ? { def, test: c.test, fold } : { def, test: c.test, eq: c.eq, fold };
}

/** The value a term reads from an observation, or `U` when it is a hash not yet computed. */
function read(def: TermDef, o: Observation | Omit<FileObservation, 'hashes'>, facts: Facts): TermValue | typeof U {
  if (def.hash) {
    const h = facts.hashes?.[def.hash];
    return h === undefined ? U : h.toLowerCase();
  }
  return def.value!(o as Observation);
}

export function evaluate(node: Node, o: Observation | Omit<FileObservation, 'hashes'>, facts: Facts): Tri {
  const isAnd = node.kind === 'and';
  let unknown = false;
  for (const s of node.sets) {
    if (s.def.document !== o.document) continue;
    const v = read(s.def, o, facts);
    if (v === U) unknown = true;
    else if (v !== undefined && s.values.has(key(v, s.fold))) return T;
  }
  for (const c of node.children) {
    let r: Tri;
    if (c.kind === 'leaf') {
      if (c.def.document !== o.document) r = F;
      else {
        const v = read(c.def, o, facts);
        r = v === U ? U : c.test(v) ? T : F;
      }
    } else r = evaluate(c, o, facts);
    if (isAnd && r === F) return F;
    if (!isAnd && r === T) return T;
    if (r === U) unknown = true;
  }
  if (unknown) return U;
  return isAnd ? T : F;
}

function key(v: NonNullable<TermValue>, fold: boolean): string | number {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  return fold ? v.toLowerCase() : v;
}

/** `term = value` for each term that made a true node true. */
export function explain(node: Node, o: Observation, facts: Facts, out: string[]): void {
  const label = (def: TermDef, v: NonNullable<TermValue>) => `${def.term} = ${v instanceof Date ? v.toISOString() : String(v)}`;
  if (node.kind === 'or') {
    for (const s of node.sets) {
      if (s.def.document !== o.document) continue;
      const v = read(s.def, o, facts);
      if (v !== U && v !== undefined && s.values.has(key(v, s.fold))) return void out.push(label(s.def, v));
    }
  }
  for (const c of node.children) {
    if (c.kind === 'leaf') {
      if (c.def.document !== o.document) continue;
      const v = read(c.def, o, facts);
      if (v === U || v === undefined || !c.test(v)) continue;
      out.push(label(c.def, v));
    } else if (evaluate(c, o, facts) === T) explain(c, o, facts, out);
    else continue;
    if (node.kind === 'or') return;
  }
}
