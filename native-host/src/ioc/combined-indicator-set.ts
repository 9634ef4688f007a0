import type { IocFormat } from '@sandgate/shared';
import type { FilePlan, IndicatorMatch, IndicatorSet, IocWarning, UnsupportedTerm } from './indicator-set.ts';
import type { DocumentName, FileObservation, HashName, Observation } from './observation.ts';

/**
 * One scan plan over several formats: each file is planned by every part from its cheap facts (name, size, path), the
 * hashes and content any part still needs are read in one pass, then each part decides. The parts run in the order
 * given (OpenIOC, STIX, YARA), so the hash terms read the file and YARA scans the bytes that read kept.
 */

export interface PlanPart {
  format: IocFormat;
  set: IndicatorSet;
  /** Rewrites an engine term (`FileItem/Sha256sum`) into the format's own words (`file:hashes.'SHA-256'`). */
  relabel?: (term: string) => string;
}

export function combineIndicatorSets(
  parts: readonly PlanPart[],
  extra: { unsupported: readonly UnsupportedTerm[]; warnings?: readonly IocWarning[] } = { unsupported: [] },
): IndicatorSet {
  return new CombinedIndicatorSet(parts, extra);
}

class CombinedIndicatorSet implements IndicatorSet {
  readonly unsupported: readonly UnsupportedTerm[];
  readonly warnings: readonly IocWarning[];
  readonly termCounts: { evaluated: number; unsupported: number };
  readonly documents: ReadonlySet<DocumentName>;
  private readonly parts: readonly PlanPart[];

  constructor(parts: readonly PlanPart[], extra: { unsupported: readonly UnsupportedTerm[]; warnings?: readonly IocWarning[] }) {
    this.parts = parts;
    const relabelled = (p: PlanPart, u: UnsupportedTerm): UnsupportedTerm => (p.relabel ? { ...u, term: p.relabel(u.term) } : u);
    this.unsupported = [...parts.flatMap((p) => p.set.unsupported.map((u) => relabelled(p, u))), ...extra.unsupported];
    this.warnings = [...parts.flatMap((p) => p.set.warnings ?? []), ...(extra.warnings ?? [])];
    this.termCounts = parts.reduce(
      (a, p) => ({ evaluated: a.evaluated + p.set.termCounts.evaluated, unsupported: a.unsupported + p.set.termCounts.unsupported }),
      { evaluated: 0, unsupported: extra.unsupported.length },
    );
    this.documents = new Set(parts.flatMap((p) => [...p.set.documents]));
  }

  plan(file: Omit<FileObservation, 'hashes' | 'content'>): FilePlan {
    let possible = false;
    let content = 0;
    const hashes = new Set<HashName>();
    for (const p of this.parts) {
      if (!p.set.documents.has('FileItem')) continue;
      const r = p.set.plan(file);
      if (!r.possible) continue;
      possible = true;
      for (const h of r.hashes) hashes.add(h);
      content = Math.max(content, r.content ?? 0);
    }
    return content > 0 ? { possible, hashes, content } : { possible, hashes };
  }

  async match(o: Observation): Promise<IndicatorMatch[]> {
    const out: IndicatorMatch[] = [];
    for (const p of this.parts) {
      if (!p.set.documents.has(o.document)) continue;
      for (const m of await p.set.match(o)) {
        const terms = p.relabel ? m.terms.map(p.relabel) : m.terms;
        out.push({ ...m, format: m.format ?? p.format, terms });
      }
    }
    return out;
  }

  notes(): Array<{ area: string; what: string; reason: string }> {
    return this.parts.flatMap((p) => p.set.notes?.() ?? []);
  }
}
