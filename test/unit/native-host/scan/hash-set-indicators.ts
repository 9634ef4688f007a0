import type { FileObservation, HashName, Observation } from '#native-host/ioc/observation.ts';
import type { IndicatorMatch, IndicatorSet } from '#native-host/ioc/indicator-set.ts';

export interface HashRule {
  id: string;
  hash: HashName;
  value: string;
  /** When set, only files of exactly this size can match (decided from the stat, without reading). */
  size?: number;
  /** When set, only files with this name can match. */
  name?: string;
}

/**
 * A small hand-written IndicatorSet for tests (the OpenIOC compiler is another module): each rule is "this hash",
 * optionally constrained by size or name. It records what `match` asked `hashes()` for, so tests can see the reads.
 */
export class HashSetIndicators implements IndicatorSet {
  readonly unsupported = [
    { file: 'test.ioc', itemId: 'item-9', term: 'FileItem/PEInfo/DigitalSignature/SignatureExists', reason: 'not evaluated on Linux' },
  ];
  readonly termCounts: { evaluated: number; unsupported: number };
  readonly documents: ReadonlySet<Observation['document']>;
  readonly rules: HashRule[];
  readonly planned: string[] = [];
  private readonly processNames: Set<string>;

  constructor(rules: HashRule[], opts: { processNames?: string[] } = {}) {
    this.rules = rules;
    this.processNames = new Set(opts.processNames ?? []);
    this.termCounts = { evaluated: rules.length + this.processNames.size, unsupported: 1 };
    this.documents = new Set<Observation['document']>(this.processNames.size ? ['FileItem', 'ProcessItem'] : ['FileItem']);
  }

  private candidates(f: Omit<FileObservation, 'hashes'>): HashRule[] {
    return this.rules.filter((r) => (r.size === undefined || r.size === f.size) && (r.name === undefined || r.name === f.fileName));
  }

  plan(f: Omit<FileObservation, 'hashes'>): { possible: boolean; hashes: ReadonlySet<HashName> } {
    const c = this.candidates(f);
    this.planned.push(f.fullPath);
    return { possible: c.length > 0, hashes: new Set(c.map((r) => r.hash)) };
  }

  async match(o: Observation): Promise<IndicatorMatch[]> {
    if (o.document === 'ProcessItem') {
      return this.processNames.has(o.name)
        ? [{ iocId: `process-${o.name}`, file: 'test.ioc', terms: [`ProcessItem/name = ${o.name}`] }]
        : [];
    }
    if (o.document !== 'FileItem') return [];
    const c = this.candidates(o);
    if (c.length === 0) return [];
    const hashes = await o.hashes(new Set(c.map((r) => r.hash)));
    return c
      .filter((r) => hashes[r.hash] === r.value)
      .map((r) => ({
        iocId: r.id,
        file: 'test.ioc',
        description: `rule ${r.id}`,
        terms: [`FileItem/${r.hash === 'sha256' ? 'Sha256sum' : r.hash === 'sha1' ? 'Sha1sum' : 'Md5sum'} = ${r.value}`],
      }));
  }
}
