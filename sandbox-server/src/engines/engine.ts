import type { Indicator, LabEngineResult } from '@sandgate/shared';

/** What an engine knows about the object before reading it. */
export interface ObjectInfo {
  /** Computed by the lab while receiving the upload, never taken from the client. */
  sha256: string;
  size: number;
  /** Advisory original name from `x-sandgate-filename`; only a hint (script detection), never trusted. */
  fileName?: string;
}

/** One engine's contribution to a verdict. */
export interface EngineFinding {
  /** At least one result, so the verdict lists every engine that looked. */
  results: LabEngineResult[];
  indicators: Indicator[];
  /** 0 (nothing) … 100 (certain). */
  score: number;
  threat?: string;
}

/**
 * A scan of one object. The analyser reads the object once and hands every engine the same chunks in order, so no
 * engine may keep more than a bounded amount of it.
 */
export interface ObjectScan {
  /**
   * Fingerprint of the inputs (rules, list) this scan judges with: the value `Engine.inputs()` gave for exactly these
   * inputs. Absent for an engine whose only input is its own code (the lab's version covers that).
   */
  readonly inputs?: string;
  update(chunk: Buffer): void;
  finish(): EngineFinding | Promise<EngineFinding>;
}

export interface Engine {
  /** Stable name, shown in the health answer and in `verdict.engines[].engine`. */
  readonly name: string;
  /** Called once per object; may reload its signatures or rules if they changed on disk. */
  open(object: ObjectInfo): ObjectScan | Promise<ObjectScan>;
  /**
   * Fingerprint of what the engine would judge with now, reloading its inputs first if they changed on disk. The lab
   * compares it with the one a stored verdict was judged with, so a changed list or rule set re-judges old verdicts.
   * Fingerprints are of content, not of file times: touching a file without changing it invalidates nothing.
   */
  inputs?(): Promise<string>;
}

/** A finding that says "looked, found nothing". */
export function cleanFinding(engine: string, detail?: string): EngineFinding {
  return { results: [{ engine, level: 'clean', ...(detail ? { detail } : {}) }], indicators: [], score: 0 };
}
