import type { CapeDetections, CuckooReport, Indicator, VerdictLevel } from '@sandgate/shared';

/**
 * How CAPEv2 and Cuckoo results become Sandgate's one verdict level. Pure, so the table in docs/sandbox-backends.md
 * is tested line by line. The score bands are project choices (platform-facts §3.6), not vendor-defined.
 */

/** CAPE `malscore` (0–10) at or above which an object is malicious; CAPE's own scoring starts "Malicious" at 7. */
export const CAPE_MALSCORE_MALICIOUS = 7;
/** CAPE `malscore` at or above which an object is suspicious; CAPE's own scoring starts "Suspicious" at 4. */
export const CAPE_MALSCORE_SUSPICIOUS = 4;
/** Cuckoo 2 `info.score` at or above which an object is malicious. */
export const CUCKOO_SCORE_MALICIOUS = 7;
/** Cuckoo 2 `info.score` at or above which an object is suspicious. */
export const CUCKOO_SCORE_SUSPICIOUS = 4;

const SEVERITY: Record<VerdictLevel, number> = { unknown: 0, clean: 1, suspicious: 2, malicious: 3 };

/** The graver of two levels (`unknown` is the mildest). */
export function graver(a: VerdictLevel, b: VerdictLevel): VerdictLevel {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

function band(score: number | null | undefined, malicious: number, suspicious: number): VerdictLevel | undefined {
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0) return undefined;
  if (score >= malicious) return 'malicious';
  if (score >= suspicious) return 'suspicious';
  return 'clean';
}

/** CAPE `malscore` alone; undefined when there is no usable score. */
export function capeMalscoreLevel(malscore: number | null | undefined): VerdictLevel | undefined {
  return band(malscore, CAPE_MALSCORE_MALICIOUS, CAPE_MALSCORE_SUSPICIOUS);
}

/** CAPE `malstatus` alone; `Failed` and strings this version does not know say `unknown`; absent says nothing. */
export function capeMalstatusLevel(malstatus: string | null | undefined): VerdictLevel | undefined {
  if (malstatus === null || malstatus === undefined) return undefined;
  switch (malstatus.trim().toLowerCase()) {
    case 'malicious':
      return 'malicious';
    case 'suspicious':
      return 'suspicious';
    case 'clean':
    case 'undetected':
      return 'clean';
    default:
      return 'unknown';
  }
}

/** The families CAPE detected, in report order, without duplicates or blanks. */
export function capeFamilies(detections: CapeDetections | null | undefined): string[] {
  if (!detections) return [];
  const names = typeof detections === 'string' ? [detections] : detections.map((d) => d.family);
  return [...new Set(names.map((n) => n.trim()).filter((n) => n.length > 0))];
}

export interface CapeResult {
  malscore?: number | null | undefined;
  malstatus?: string | null | undefined;
  detections?: CapeDetections | null | undefined;
}

/**
 * One level from CAPE's three signals. Any detected family is malicious (CAPE itself scores a YARA family 10).
 * Otherwise the graver of `malscore` and `malstatus` wins, except that a `malstatus` of `Failed` (or one this version
 * does not know) keeps a zero score from reading as clean: the analysis did not run far enough to say so.
 */
export function capeVerdictLevel(r: CapeResult): VerdictLevel {
  if (capeFamilies(r.detections).length > 0) return 'malicious';
  const byScore = capeMalscoreLevel(r.malscore);
  const byStatus = capeMalstatusLevel(r.malstatus);
  const worst = graver(byScore ?? 'unknown', byStatus ?? 'unknown');
  if (worst === 'malicious' || worst === 'suspicious') return worst;
  if (byStatus === 'unknown') return 'unknown';
  return worst;
}

/** Cuckoo 2 `info.score`: the only verdict signal Cuckoo gives. */
export function cuckooVerdictLevel(score: number | null | undefined): VerdictLevel {
  return band(score, CUCKOO_SCORE_MALICIOUS, CUCKOO_SCORE_SUSPICIOUS) ?? 'unknown';
}

/** Families named by Cuckoo signatures, gravest signature first. */
export function cuckooFamilies(signatures: CuckooReport['signatures']): string[] {
  const sorted = [...(signatures ?? [])].sort((a, b) => (b.severity ?? 0) - (a.severity ?? 0));
  const names = sorted.flatMap((s) => s.families ?? []).map((n) => n.trim());
  return [...new Set(names.filter((n) => n.length > 0))];
}

/** CAPE detections as indicators: the family, and which engines named it (`Yara`, `ClamAV`, `Behavior`…). */
export function capeIndicators(detections: CapeDetections | null | undefined): Indicator[] {
  if (!detections) return [];
  if (typeof detections === 'string') return capeFamilies(detections).map((f) => ({ type: 'malware-family', value: f, source: 'cape' }));
  return detections
    .filter((d) => d.family.trim().length > 0)
    .map((d) => {
      const engines = [...new Set((d.details ?? []).flatMap((x) => Object.keys(x)))];
      return {
        type: 'malware-family',
        value: d.family.trim().slice(0, 4096),
        source: (engines.length ? `cape:${engines.join(',')}` : 'cape').slice(0, 256),
      };
    });
}

/** Cuckoo signatures as indicators (name and families), for IOC generation later. */
export function cuckooIndicators(signatures: CuckooReport['signatures']): Indicator[] {
  const out: Indicator[] = [];
  for (const s of signatures ?? []) {
    if (s.name) out.push({ type: 'signature', value: s.name.slice(0, 4096), source: 'cuckoo' });
    for (const f of s.families ?? []) if (f.trim()) out.push({ type: 'malware-family', value: f.trim().slice(0, 4096), source: 'cuckoo' });
  }
  return out;
}
