import { readFile } from 'node:fs/promises';
import { jobSchema } from '@sandgate/shared';
import { parseSealedLines } from '../durable/sealed-lines.ts';
import type { FileObservation, HashName, Observation } from '../ioc/observation.ts';
import type { IndicatorMatch, IndicatorSet } from '../ioc/indicator-set.ts';

export interface KnownBadHash {
  sha256: string;
  threat?: string;
  jobId: string;
  path: string;
  judgedBy: string;
}

const SHA256: ReadonlySet<HashName> = new Set(['sha256']);
const NOTHING: ReadonlySet<HashName> = new Set();

/**
 * Every SHA-256 a sandbox judged malicious, from the agent's finished jobs. Read-only: the journal's sealed lines are parsed
 * here with the shared job schema instead of through `JobJournal.open`, which creates the folder and removes
 * compaction temp files, and would race with a running agent's compaction.
 */
export async function readKnownBadHashes(journalFile: string): Promise<KnownBadHash[]> {
  let text: string;
  try {
    text = await readFile(journalFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const bySha = new Map<string, KnownBadHash>();
  // Sealed lines (a torn or damaged one is skipped); lines from before sealing are read too.
  for (const raw of parseSealedLines(text, { legacy: true }).values) {
    const r = jobSchema.safeParse(raw);
    if (!r.success || r.data.verdict?.level !== 'malicious') continue;
    const j = r.data;
    bySha.set(j.sha256, {
      sha256: j.sha256,
      jobId: j.jobId,
      path: j.path,
      judgedBy: j.verdict!.server,
      ...(j.verdict!.threat ? { threat: j.verdict!.threat } : {}),
    });
  }
  return [...bySha.values()];
}

/** The malicious hashes as an IndicatorSet, so the scanner treats them like any other indicator. */
export class KnownBadHashes implements IndicatorSet {
  readonly unsupported = [];
  readonly documents: ReadonlySet<Observation['document']> = new Set(['FileItem']);
  readonly termCounts: { evaluated: number; unsupported: number };
  private readonly bySha: Map<string, KnownBadHash>;
  private readonly source: string;

  constructor(hashes: readonly KnownBadHash[], source: string) {
    this.bySha = new Map(hashes.map((h) => [h.sha256, h]));
    this.source = source;
    this.termCounts = { evaluated: this.bySha.size, unsupported: 0 };
  }

  get size(): number {
    return this.bySha.size;
  }

  plan(): { possible: boolean; hashes: ReadonlySet<HashName> } {
    return this.bySha.size ? { possible: true, hashes: SHA256 } : { possible: false, hashes: NOTHING };
  }

  async match(o: Observation): Promise<IndicatorMatch[]> {
    if (o.document !== 'FileItem' || this.bySha.size === 0) return [];
    const sha256 = (await (o as FileObservation).hashes(SHA256)).sha256;
    const hit = sha256 ? this.bySha.get(sha256) : undefined;
    if (!hit) return [];
    return [
      {
        iocId: `verdict:${hit.jobId}`,
        file: this.source,
        description: `${hit.threat ?? 'malicious'} (judged by ${hit.judgedBy}; first seen as ${hit.path})`,
        terms: [`FileItem/Sha256sum = ${hit.sha256}`],
      },
    ];
  }
}
