import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@sandgate/shared';
import { errorTable } from '../../scripts/error-table.ts';

const doc = readFileSync(join(import.meta.dirname, '../../shared/PROTOCOL.md'), 'utf8');

describe('error-code registry and PROTOCOL.md', () => {
  it('documents every code in the registry, with its current meaning (run `npx node scripts/error-table.ts`)', () => {
    expect(doc).toContain(errorTable());
  });

  it('documents no code the registry does not have', () => {
    const documented = [...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.filter((c) => !(c! in ERROR_CODES))).toEqual([]);
  });

  it('uses upper-snake-case codes only, so scripts can match them literally', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });
});
