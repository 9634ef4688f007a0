import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileIndicatorSet } from '#native-host/ioc/compile-indicator-set.ts';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';

// Real published OpenIOC files live beside the repository (PRODUCT.md: read them, never copy them in). In a git
// worktree (/work/wt/<branch>) "beside the repository" is beside the main checkout, found through the .git file.
const REPO = join(import.meta.dirname, '../../../..');
function candidates(): string[] {
  const dirs = [join(REPO, '..', 'shared/data/openioc')];
  try {
    const gitdir = /^gitdir: (.+)$/m.exec(readFileSync(join(REPO, '.git'), 'utf8'))?.[1];
    // <main>/.git/worktrees/<name> → <main>/.. beside which shared/ lies.
    if (gitdir) dirs.push(join(gitdir.trim(), '../../../..', 'shared/data/openioc'));
  } catch {
    // a plain checkout: .git is a folder
  }
  return dirs;
}
const DIR = candidates().find((d) => existsSync(d)) ?? candidates()[0]!;
const exists = existsSync(DIR);
if (!exists) console.log(`real-iocs: skipped: ../shared/data/openioc not present (looked in ${candidates().join(', ')})`);

describe('real published OpenIOC files', () => {
  it.skipIf(!exists)(
    exists ? 'all parse, and we count the terms we evaluate and the ones we do not' : 'skipped: ../shared/data/openioc not present',
    () => {
      const files = (readdirSync(DIR, { recursive: true }) as string[]).filter((f) => /\.(ioc|xml)$/i.test(f)).sort();
      expect(files.length).toBeGreaterThan(0);
      const failures: string[] = [];
      const versions = { '1.0': 0, '1.1': 0 };
      let evaluated = 0;
      let unsupported = 0;
      const byTerm = new Map<string, number>();
      for (const f of files) {
        try {
          const ioc = parseOpenIoc(readFileSync(join(DIR, f)), relative(DIR, join(DIR, f)));
          versions[ioc.version]++;
          // One set per file: published collections reuse ids across folders.
          const set = compileIndicatorSet([{ file: f, ioc }], { platform: 'linux' });
          evaluated += set.termCounts.evaluated;
          unsupported += set.termCounts.unsupported;
          for (const u of set.unsupported) byTerm.set(u.term, (byTerm.get(u.term) ?? 0) + 1);
        } catch (e) {
          failures.push(`${f}: ${(e as Error).message}`);
        }
      }
      const top = [...byTerm]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([t, n]) => `${t} ×${n}`)
        .join(', ');
      console.log(
        `real-iocs: ${files.length} files (${versions['1.0']} OpenIOC 1.0, ${versions['1.1']} OpenIOC 1.1); terms evaluated: ${evaluated}, not evaluated: ${unsupported}; most common unsupported: ${top}`,
      );
      expect(failures).toEqual([]);
      // Published IOCs lean on the DNS cache (DnsEntryItem); on Linux those terms are named unsupported, never counted.
      expect(byTerm.get('DnsEntryItem/RecordName')).toBeGreaterThan(0);
      expect(byTerm.get('DnsEntryItem/Host')).toBeGreaterThan(0);
    },
  );
});
