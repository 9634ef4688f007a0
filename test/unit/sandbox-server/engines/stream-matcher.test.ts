import { describe, expect, it } from 'vitest';
import { StreamMatcher } from '#lab/engines/stream-matcher.ts';

describe('stream matcher', () => {
  it('finds a pattern split across a chunk boundary at every possible split point', () => {
    const data = Buffer.from('0123456789 prefix /JavaScript suffix', 'latin1');
    const at = data.indexOf('/JavaScript');
    for (let split = 1; split < data.length; split++) {
      const m = new StreamMatcher({ js: '/JavaScript', other: 'absent' });
      m.update(data.subarray(0, split));
      m.update(data.subarray(split));
      expect(m.has('js'), `split at ${split}`).toBe(true);
      expect(m.offsetOf('js')).toBe(at);
      expect(m.has('other')).toBe(false);
    }
  });

  it('finds patterns fed one byte at a time and reports first offsets', () => {
    const data = Buffer.from('aaXYZbbXYZ_VBA', 'latin1');
    const m = new StreamMatcher({ xyz: 'XYZ', vba: Buffer.from('_VBA') });
    for (const b of data) m.update(Buffer.from([b]));
    expect(m.offsetOf('xyz')).toBe(2);
    expect(m.offsetOf('vba')).toBe(10);
  });
});
