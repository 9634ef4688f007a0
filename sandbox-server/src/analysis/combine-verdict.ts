import type { Indicator, LabVerdict, VerdictLevel } from '@sandgate/shared';
import type { EngineFinding } from '../engines/engine.ts';

const RANK: Record<VerdictLevel, number> = { unknown: 0, clean: 1, suspicious: 2, malicious: 3 };

/** The level of a finding is the highest level among its results. */
function findingLevel(f: EngineFinding): VerdictLevel {
  return f.results.reduce<VerdictLevel>((acc, r) => (RANK[r.level] > RANK[acc] ? r.level : acc), 'unknown');
}

/**
 * One verdict from every engine's finding: the highest level wins; the threat comes from the first engine (in engine
 * order) at that level; the score is the highest among engines at that level, so a weak heuristic cannot lower a
 * signature's certainty and cannot raise a clean object's score above what its own level allows.
 */
export function combineVerdict(findings: EngineFinding[], objectIndicators: Indicator[]): LabVerdict {
  let level: VerdictLevel = 'unknown';
  for (const f of findings) if (RANK[findingLevel(f)] > RANK[level]) level = findingLevel(f);
  const top = findings.filter((f) => findingLevel(f) === level);
  const threat = level === 'malicious' || level === 'suspicious' ? top.find((f) => f.threat)?.threat : undefined;
  const score = Math.max(0, ...top.map((f) => f.score));
  return {
    level,
    ...(threat ? { threat } : {}),
    score: level === 'clean' || level === 'unknown' ? 0 : score,
    engines: findings.flatMap((f) => f.results),
    indicators: [...objectIndicators, ...findings.flatMap((f) => f.indicators)],
  };
}
