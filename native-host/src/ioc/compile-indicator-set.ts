import { SandgateError, type IocIndicator, type OpenIoc } from '@sandgate/shared';
import type { IndicatorMatch, IndicatorSet, IocWarning, UnsupportedTerm } from './indicator-set.ts';
import { compileNode, evaluate, explain, F, T, U, type Facts, type Node } from './indicator-tree.ts';
import { hasCheapFileTerm, requiredHashes, requiredValues, type FileKey } from './index-keys.ts';
import type { DocumentName, FileObservation, HashName, Observation } from './observation.ts';
import { currentPlatform, type Platform } from './term-table.ts';

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

interface CompiledIoc {
  id: string;
  file: string;
  description: string | undefined;
  root: Node;
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
      throw new SandgateError('IOC_DUPLICATE_ID', `IOC id ${ioc.id} is in both ${other} and ${file}`, {
        params: { id: ioc.id, files: [other, file] },
      });
    }
    seen.set(ioc.id, file);
    const ctx = { file, platform, unavailable: options.unavailable, unsupported, warnings, leaves: 0, items: 0 };
    const top: IocIndicator = { kind: 'indicator', id: ioc.id, operator: 'OR', children: ioc.criteria, line: ioc.criteria[0]?.line ?? 1 };
    const root = compileNode(top, ctx);
    evaluated += ctx.leaves;
    total += ctx.items;
    if (!root) {
      warnings.push({
        file,
        itemId: ioc.id,
        message: `IOC ${ioc.id} can never match: none of its indicators has a term Sandgate evaluates`,
      });
      continue;
    }
    iocs.push({ id: ioc.id, file, description: ioc.shortDescription ?? ioc.description, root });
  }
  return new CompiledIndicatorSet(iocs, unsupported, warnings, { evaluated, unsupported: total - evaluated });
}

const BLANK_FILE: Omit<FileObservation, 'hashes'> = {
  document: 'FileItem',
  fullPath: '',
  fileName: '',
  fileExtension: '',
  size: -1,
  modified: new Date(0),
};

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

  constructor(
    iocs: CompiledIoc[],
    unsupported: UnsupportedTerm[],
    warnings: IocWarning[],
    counts: { evaluated: number; unsupported: number },
  ) {
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
      const k: FileKey | null = size
        ? { kind: 'size', values: size as Set<number> }
        : name
          ? { kind: 'name', values: name as Set<string> }
          : null;
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
