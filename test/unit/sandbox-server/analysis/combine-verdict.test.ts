import { describe, expect, it } from 'vitest';
import { labVerdictSchema } from '@sandgate/shared';
import { combineVerdict } from '#lab/analysis/combine-verdict.ts';
import { cleanFinding, type EngineFinding } from '#lab/engines/engine.ts';

const malicious = (engine: string, threat: string, score = 100): EngineFinding => ({
  results: [{ engine, level: 'malicious', name: threat }],
  indicators: [{ type: 'signature', value: threat, source: engine }],
  score,
  threat,
});
const suspicious: EngineFinding = {
  results: [{ engine: 'file-type', level: 'suspicious', name: 'Heuristic.PDF.JavaScript' }],
  indicators: [],
  score: 30,
  threat: 'Heuristic.PDF.JavaScript',
};

describe('verdict', () => {
  it('takes the highest level, the threat of the first engine at that level, and its score', () => {
    const v = combineVerdict(
      [cleanFinding('eicar'), malicious('sha256-blocklist', 'Corp.Banned', 100), malicious('yara-x', 'Rule.X', 90), suspicious],
      [],
    );
    expect(labVerdictSchema.parse(v)).toEqual(v);
    expect(v.level).toBe('malicious');
    expect(v.threat).toBe('Corp.Banned');
    expect(v.score).toBe(100);
    expect(v.engines.map((e) => e.engine)).toEqual(['eicar', 'sha256-blocklist', 'yara-x', 'file-type']);
  });

  it('keeps a heuristic hit suspicious with its low score', () => {
    const v = combineVerdict([cleanFinding('eicar'), suspicious], [{ type: 'sha256', value: 'x' }]);
    expect(v).toMatchObject({ level: 'suspicious', threat: 'Heuristic.PDF.JavaScript', score: 30 });
    expect(v.indicators[0]).toEqual({ type: 'sha256', value: 'x' });
  });

  it('says clean with score 0 and no threat when no engine found anything', () => {
    const v = combineVerdict([cleanFinding('eicar'), cleanFinding('file-type')], []);
    expect(v.level).toBe('clean');
    expect(v.score).toBe(0);
    expect(v.threat).toBeUndefined();
  });
});
