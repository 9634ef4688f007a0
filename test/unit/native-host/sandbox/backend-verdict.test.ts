import { describe, expect, it } from 'vitest';
import {
  CAPE_MALSCORE_MALICIOUS,
  CAPE_MALSCORE_SUSPICIOUS,
  CUCKOO_SCORE_MALICIOUS,
  CUCKOO_SCORE_SUSPICIOUS,
  capeFamilies,
  capeIndicators,
  capeVerdictLevel,
  cuckooFamilies,
  cuckooVerdictLevel,
  graver,
  type CapeResult,
} from '#native-host/sandbox/backend-verdict.ts';

const eicar = [{ family: 'EICAR-Test-File', details: [{ Yara: 'EICAR' }] }];

describe('CAPE results → one verdict level (the table in docs/sandbox-backends.md)', () => {
  it.each<[string, CapeResult, string]>([
    ['a detected family, whatever the score', { malscore: 0, malstatus: 'Clean', detections: eicar }, 'malicious'],
    ['a family in the old plain-string form', { malscore: 2, detections: 'Emotet' }, 'malicious'],
    ['malstatus Malicious', { malscore: 3, malstatus: 'Malicious' }, 'malicious'],
    ['malscore at the malicious threshold', { malscore: CAPE_MALSCORE_MALICIOUS }, 'malicious'],
    ['malscore 10 with malstatus Suspicious (the graver wins)', { malscore: 10, malstatus: 'Suspicious' }, 'malicious'],
    ['malstatus Suspicious', { malscore: 1, malstatus: 'Suspicious' }, 'suspicious'],
    ['malscore at the suspicious threshold', { malscore: CAPE_MALSCORE_SUSPICIOUS }, 'suspicious'],
    ['malscore just under the malicious threshold', { malscore: 6.9 }, 'suspicious'],
    ['malscore under the suspicious threshold', { malscore: 3.9, malstatus: 'Clean' }, 'clean'],
    ['malstatus Undetected with no score', { malstatus: 'Undetected' }, 'clean'],
    ['malscore 0 and no detections', { malscore: 0, detections: [] }, 'clean'],
    ['malstatus Failed keeps a zero score from reading as clean', { malscore: 0, malstatus: 'Failed' }, 'unknown'],
    ['a malstatus this version does not know', { malscore: 0, malstatus: 'Quarantined' }, 'unknown'],
    ['no signal at all', {}, 'unknown'],
    ['a negative or non-finite score is no score', { malscore: Number.NaN }, 'unknown'],
    ['malstatus is read case-insensitively', { malstatus: 'MALICIOUS' }, 'malicious'],
  ])('%s → %s', (_why, result, level) => {
    expect(capeVerdictLevel(result)).toBe(level);
  });

  it('names the threat after the first family, without duplicates or blanks', () => {
    expect(capeFamilies([{ family: 'AgentTesla' }, { family: ' ' }, { family: 'AgentTesla' }, { family: 'Formbook' }])).toEqual([
      'AgentTesla',
      'Formbook',
    ]);
    expect(capeFamilies('Emotet')).toEqual(['Emotet']);
    expect(capeFamilies(null)).toEqual([]);
  });

  it('keeps which engines detected a family as the indicator source', () => {
    expect(capeIndicators([{ family: 'AgentTesla', details: [{ Yara: 'AgentTesla' }, { ClamAV: 'Win.Trojan' }] }])).toEqual([
      { type: 'malware-family', value: 'AgentTesla', source: 'cape:Yara,ClamAV' },
    ]);
  });
});

describe('Cuckoo 2 results → one verdict level', () => {
  it.each<[number | null | undefined, string]>([
    [10, 'malicious'],
    [CUCKOO_SCORE_MALICIOUS, 'malicious'],
    [12.5, 'malicious'],
    [6.99, 'suspicious'],
    [CUCKOO_SCORE_SUSPICIOUS, 'suspicious'],
    [3.9, 'clean'],
    [0, 'clean'],
    [-1, 'unknown'],
    [null, 'unknown'],
    [undefined, 'unknown'],
  ])('info.score %s → %s', (score, level) => {
    expect(cuckooVerdictLevel(score)).toBe(level);
  });

  it('names the threat after the gravest signature that names a family', () => {
    expect(
      cuckooFamilies([
        { name: 'packer_upx', severity: 1, families: ['UPX'] },
        { name: 'yara_eicar', severity: 3, families: ['EICAR-Test-File'] },
        { name: 'no_family', severity: 5 },
      ]),
    ).toEqual(['EICAR-Test-File', 'UPX']);
  });
});

describe('levels', () => {
  it('orders unknown < clean < suspicious < malicious', () => {
    expect(graver('clean', 'unknown')).toBe('clean');
    expect(graver('suspicious', 'clean')).toBe('suspicious');
    expect(graver('suspicious', 'malicious')).toBe('malicious');
  });
});
