import type { IocFormat } from '@sandgate/shared';
import type { FileObservation, HashName, Observation } from './observation.ts';

/** A term the engine cannot evaluate on this OS, reported when a task is created and counted in its result. */
export interface UnsupportedTerm {
  /** The IOC file it came from. */
  file: string;
  /** The indicator's id (OpenIOC `Indicator/@id` or `IndicatorItem/@id`). */
  itemId: string;
  /** `document/search`, e.g. `FileItem/PEInfo/DigitalSignature/SignatureExists`. */
  term: string;
  reason: string;
}

/**
 * Something in an IOC that is evaluated but can never match as written (an AND across documents, an indicator left
 * without any evaluable term), reported when the set is compiled. Added for issue 5; optional in `IndicatorSet`.
 */
export interface IocWarning {
  file: string;
  /** The `Indicator/@id` concerned (or the IOC id). */
  itemId: string;
  line?: number;
  message: string;
}

export interface IndicatorMatch {
  /** Which format the indicator came from (issue 18; absent for verdict hashes). */
  format?: IocFormat;
  /** Which IOC (its id and file) matched: an OpenIOC id, a STIX indicator id, a YARA rule name. */
  iocId: string;
  file: string;
  /** Short description from the IOC, for people. */
  description?: string;
  /** The terms that were true for this observation, `document/search = value`. */
  terms: string[];
}

/**
 * Every active IOC compiled for scanning. The scanner asks `plan` first with what a stat gives (no read), and only
 * reads the file for the hashes `plan` names; `match` then decides.
 */
export interface IndicatorSet {
  readonly unsupported: readonly UnsupportedTerm[];
  /** How many terms the set evaluates and how many it cannot, over all files. */
  readonly termCounts: { evaluated: number; unsupported: number };
  /** Which documents any indicator looks at, so collectors that nobody needs are not run. */
  readonly documents: ReadonlySet<Observation['document']>;
  /** Compile-time warnings (optional member, added for issue 5). */
  readonly warnings?: readonly IocWarning[];
  /**
   * From the cheap facts only (name, path, size, times): can this file still match, and which hashes would decide it?
   * `possible: false` means skip the file without reading it.
   */
  plan(file: Omit<FileObservation, 'hashes' | 'content'>): FilePlan;
  /** Every IOC this observation matches. Hashes are fetched through `hashes()` only if still needed. */
  match(o: Observation): Promise<IndicatorMatch[]>;
  /** What the set could not look at during a scan (YARA: files seen on a prefix only), for `notExamined`. Issue 18. */
  notes?(): Array<{ area: string; what: string; reason: string }>;
}

/** What a file needs before the set can decide: nothing (skip), hashes, and/or its first `content` bytes (YARA). */
export interface FilePlan {
  possible: boolean;
  hashes: ReadonlySet<HashName>;
  /** Bytes of content to read (0 or absent: none). */
  content?: number;
}
