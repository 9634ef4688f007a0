import { SandgateError, type IocIndicator, type IocItem, type OpenIoc } from '@sandgate/shared';
import { compileCondition } from './conditions.ts';
import type { IndicatorMatch, IndicatorSet, IocWarning, UnsupportedTerm } from './indicator-set.ts';
import type { DocumentName, FileObservation, HashName, Observation } from './observation.ts';
import { currentPlatform, findTerm, notCollectedReason, type Platform, type TermDef, type TermValue } from './term-table.ts';

/**
 * Compiles parsed IOC files into an `IndicatorSet`. Semantics (docs/ioc-terms.md):
 * - an indicator is evaluated against one observation at a time; a term about another document is false for it;
 * - an unsupported term inside an OR is dropped, inside an AND it makes that AND unevaluable (never true); both are
 *   reported per file and term, and counted;
 * - several top-level indicators in one file are ORed.
 * Speed: equality terms under one OR become one set lookup; IOCs that can only match a file with a given hash, size or
 * name are found through indexes, so cost per file does not grow with the number of hashes or IOCs.
 */

export interface IocSource {
  /** The file it was read from (as shown in reports). */
  file: string;
  ioc: OpenIoc;
}

export interface CompileOptions {
  /**
   * Whose collectors decide what is evaluated: a term no collector of this OS produces is unsupported (term-table.ts).
   * Defaults to the running OS. `any`: every term the engine can read, whatever produces it, for observations handed
   * to `match` directly (the engine's own tests); never for a scan, whose counts would then lie.
   */
  platform?: Platform | 'any';
  /**
   * Terms this host cannot produce although its OS can (systemd's active state where systemd does not run): lower-case
   * term → why. From `scan/host-term-limits.ts` for scans of this machine.
   */
  unavailable?: ReadonlyMap<string, string>;
}

const F = 0;
const T = 1;
const U = 2;
type Tri = typeof F | typeof T | typeof U;

interface Leaf {
  kind: 'leaf';
  def: TermDef;
  test: (v: TermValue) => boolean;
  /** Set for a positive equality (a possible index key). */
  eq?: string | number;
}

/** Positive equality leaves of one term under one OR, as a lookup table (value as compared → nothing). */
interface EqSet {
  def: TermDef;
  fold: boolean;
  values: Set<string | number>;
}

interface Node {
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

interface CompiledIoc {
  id: string;
  file: string;
  description: string | undefined;
  root: Node;
}

interface Facts {
  hashes?: Partial<Record<HashName, string>>;
}

export function compileIndicatorSet(sources: readonly IocSource[], options: CompileOptions = {}): IndicatorSet {
  const platform = options.platform ?? currentPlatform();
  const unsupported: UnsupportedTerm[] = [];
  const warnings: IocWarning[] = [];
  const seen = new Map<string, string>();
  const iocs: CompiledIoc[] = [];
  let evaluated = 0;
  let total = 0;

  for (const { file, ioc } of sources) {
    const other = seen.get(ioc.id);
    if (other !== undefined) {
      throw new SandgateError('IOC_DUPLICATE_ID', `IOC id ${ioc.id} is in both ${other} and ${file}`, { params: { id: ioc.id, files: [other, file] } });
    }
    seen.set(ioc.id, file);
    const ctx = { file, platform, unavailable: options.unavailable, unsupported, warnings, leaves: 0, items: 0 };
    const top: IocIndicator = { kind: 'indicator', id: ioc.id, operator: 'OR', children: ioc.criteria, line: ioc.criteria[0]?.line ?? 1 };
    const root = compileNode(top, ctx);
    evaluated += ctx.leaves;
    total += ctx.items;
    if (!root) {
      warnings.push({ file, itemId: ioc.id, message: `IOC ${ioc.id} can never match: none of its indicators has a term Sandgate evaluates` });
      continue;
    }
    iocs.push({ id: ioc.id, file, description: ioc.shortDescription ?? ioc.description, root });
  }
  return new CompiledIndicatorSet(iocs, unsupported, warnings, { evaluated, unsupported: total - evaluated });
}

interface CompileContext {
  file: string;
  platform: Platform | 'any';
  unavailable: ReadonlyMap<string, string> | undefined;
  unsupported: UnsupportedTerm[];
  warnings: IocWarning[];
  leaves: number;
  items: number;
}

/** Returns null when the node can never be true (unevaluable AND, OR with nothing left, empty indicator). */
function compileNode(ind: IocIndicator, ctx: CompileContext): Node | null {
  const node: Node = { kind: ind.operator === 'AND' ? 'and' : 'or', id: ind.id, line: ind.line, children: [], sets: [], docs: new Set(), hashes: new Set() };
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
    else node.children.push({ kind: 'leaf', def: compiled.def, test: compiled.test, ...(compiled.eq === undefined ? {} : { eq: compiled.eq }) });
  }
  if (dead) {
    // None of its terms is evaluated: take back what its sub-indicators counted.
    ctx.leaves = start;
    return null;
  }
  ctx.leaves += leaves;
  if (node.children.length === 0 && node.sets.length === 0) {
    if (ind.children.length === 0) ctx.warnings.push({ file: ctx.file, itemId: ind.id, line: ind.line, message: `Indicator ${ind.id} is empty and never matches` });
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
  const missing = ctx.platform === 'any' ? undefined : (notCollectedReason(def, ctx.platform) ?? ctx.unavailable?.get(def.term.toLowerCase()));
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

function evaluate(node: Node, o: Observation | Omit<FileObservation, 'hashes'>, facts: Facts): Tri {
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
function explain(node: Node, o: Observation, facts: Facts, out: string[]): void {
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

type FileKey = { kind: 'size'; values: Set<number> } | { kind: 'name'; values: Set<string> };

/**
 * Values of one cheap term that every way of making the node true requires (an index key), or null. For an AND one
 * constrained child suffices; for an OR every branch must be constrained by the same term.
 */
function requiredValues(node: Node, term: string): Set<string | number> | null {
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
function requiredHashes(node: Node): Map<HashName, Set<string>> | null {
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

function hasCheapFileTerm(node: Node): boolean {
  return (
    node.sets.some((s) => s.def.document === 'FileItem' && !s.def.hash) ||
    node.children.some((c) => (c.kind === 'leaf' ? c.def.document === 'FileItem' && !c.def.hash : hasCheapFileTerm(c)))
  );
}

const BLANK_FILE: Omit<FileObservation, 'hashes'> = { document: 'FileItem', fullPath: '', fileName: '', fileExtension: '', size: -1, modified: new Date(0) };

class CompiledIndicatorSet implements IndicatorSet {
  readonly unsupported: readonly UnsupportedTerm[];
  readonly warnings: readonly IocWarning[];
  readonly termCounts: { evaluated: number; unsupported: number };
  readonly documents: ReadonlySet<DocumentName>;
  private readonly byDocument = new Map<DocumentName, CompiledIoc[]>();
  // FileItem routing: IOCs whose verdict on a file depends on its cheap facts, indexed by a required size or name
  // when they have one; and IOCs decided by hashes alone, indexed by a required hash when they have one.
  private readonly bySize = new Map<number, CompiledIoc[]>();
  private readonly byName = new Map<string, CompiledIoc[]>();
  private readonly cheapUnkeyed: CompiledIoc[] = [];
  private readonly byHash = new Map<HashName, Map<string, CompiledIoc[]>>();
  private readonly hashUnkeyed: CompiledIoc[] = [];
  private readonly staticHashes = new Set<HashName>();

  constructor(iocs: CompiledIoc[], unsupported: UnsupportedTerm[], warnings: IocWarning[], counts: { evaluated: number; unsupported: number }) {
    this.unsupported = unsupported;
    this.warnings = warnings;
    this.termCounts = counts;
    const documents = new Set<DocumentName>();
    for (const ioc of iocs) {
      for (const d of ioc.root.docs) {
        documents.add(d);
        push(this.byDocument, d, ioc);
      }
      if (ioc.root.docs.has('FileItem')) this.routeFileIoc(ioc);
    }
    this.documents = documents;
  }

  private routeFileIoc(ioc: CompiledIoc): void {
    if (hasCheapFileTerm(ioc.root)) {
      const size = requiredValues(ioc.root, 'FileItem/SizeInBytes');
      const name = size ? null : requiredValues(ioc.root, 'FileItem/FileName');
      const k: FileKey | null = size ? { kind: 'size', values: size as Set<number> } : name ? { kind: 'name', values: name as Set<string> } : null;
      if (!k) this.cheapUnkeyed.push(ioc);
      else for (const v of k.values) push<string | number>(k.kind === 'size' ? this.bySize : this.byName, v as never, ioc);
      return;
    }
    // Without cheap terms the outcome before hashing is the same for every file.
    if (evaluate(ioc.root, BLANK_FILE, {}) === F) return;
    for (const h of ioc.root.hashes) this.staticHashes.add(h);
    const hashes = requiredHashes(ioc.root);
    if (!hashes) return void this.hashUnkeyed.push(ioc);
    for (const [h, values] of hashes) {
      let m = this.byHash.get(h);
      if (!m) this.byHash.set(h, (m = new Map()));
      for (const v of values) push(m, v, ioc);
    }
  }

  /**
   * An IOC is evaluated on the cheap facts only while it could change the answer: once the file is possible and the
   * hashes it could ask for are already needed, it is skipped. Undecided IOCs ask for every hash kind they use (a
   * slight over-approximation that keeps planning to one pass).
   */
  plan(file: Omit<FileObservation, 'hashes'>): { possible: boolean; hashes: ReadonlySet<HashName> } {
    const hashes = new Set(this.staticHashes);
    let possible = this.byHash.size > 0 || this.hashUnkeyed.length > 0;
    for (const list of this.cheapLists(file)) {
      for (const ioc of list) {
        if (possible && isSubset(ioc.root.hashes, hashes)) continue;
        const r = evaluate(ioc.root, file, {});
        if (r === F) continue;
        possible = true;
        if (r === U) for (const h of ioc.root.hashes) hashes.add(h);
      }
    }
    return { possible, hashes };
  }

  private cheapLists(file: Omit<FileObservation, 'hashes'>): CompiledIoc[][] {
    return [this.bySize.get(file.size) ?? [], this.byName.get(file.fileName.toLowerCase()) ?? [], this.cheapUnkeyed];
  }

  async match(o: Observation): Promise<IndicatorMatch[]> {
    if (o.document !== 'FileItem') return this.report(this.byDocument.get(o.document) ?? [], o, {});
    const { possible, hashes: needed } = this.plan(o);
    if (!possible) return [];
    const hashes = needed.size > 0 ? await o.hashes(needed) : {};
    const facts: Facts = { hashes };
    // An IOC false on the cheap facts stays false with the hashes, so evaluating all cheap candidates again is safe.
    const all = new Set(this.cheapLists(o).flat());
    for (const ioc of this.hashUnkeyed) all.add(ioc);
    for (const [h, index] of this.byHash) {
      const v = hashes[h];
      if (v !== undefined) for (const ioc of index.get(v.toLowerCase()) ?? []) all.add(ioc);
    }
    return this.report([...all], o, facts);
  }

  private report(iocs: CompiledIoc[], o: Observation, facts: Facts): IndicatorMatch[] {
    const out: IndicatorMatch[] = [];
    for (const ioc of iocs) {
      if (evaluate(ioc.root, o, facts) !== T) continue;
      const terms: string[] = [];
      explain(ioc.root, o, facts, terms);
      out.push({ iocId: ioc.id, file: ioc.file, ...(ioc.description ? { description: ioc.description } : {}), terms });
    }
    return out;
  }
}

function isSubset<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function push<K>(m: Map<K, CompiledIoc[]>, k: K, ioc: CompiledIoc): void {
  const list = m.get(k);
  if (list) list.push(ioc);
  else m.set(k, [ioc]);
}
