import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TERMS_DOC, stixPathsMarkdown, termTableMarkdown } from '#native-host/ioc/term-table-doc.ts';
import { TERM_TABLE } from '#native-host/ioc/term-table.ts';

const doc = readFileSync(TERMS_DOC, 'utf8');

describe('docs/ioc-terms.md and the term table', () => {
  it('shows the table the engine uses (run `npx node native-host/src/ioc/term-table-doc.ts`)', () => {
    expect(doc).toContain(termTableMarkdown());
  });

  it('shows the STIX object paths the engine reads, each evaluated where its term is', () => {
    expect(doc).toContain(stixPathsMarkdown());
    expect(stixPathsMarkdown()).toContain("| `file:hashes.'SHA-256'` | `FileItem/Sha256sum` | linux, windows, macos |");
    expect(stixPathsMarkdown()).toContain('| `domain-name:value` | `DnsEntryItem/Host` | nowhere yet |');
  });

  it('names no term the engine does not evaluate', () => {
    const documented = [...doc.matchAll(/^\| `([A-Za-z]+Item\/[A-Za-z0-9/]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(TERM_TABLE.map((t) => t.term).sort());
  });

  it('covers at least the terms issue 5 asks for', () => {
    const terms = new Set(TERM_TABLE.map((t) => t.term));
    for (const t of [
      'FileItem/Md5sum',
      'FileItem/Sha1sum',
      'FileItem/Sha256sum',
      'FileItem/FileName',
      'FileItem/FullPath',
      'FileItem/FilePath',
      'FileItem/FileExtension',
      'FileItem/SizeInBytes',
      'ProcessItem/name',
      'ProcessItem/path',
      'ProcessItem/arguments',
      'PortItem/remoteIP',
      'PortItem/remotePort',
      'PortItem/localPort',
      'PortItem/protocol',
      'DnsEntryItem/Host',
      'DnsEntryItem/RecordData/Host',
      'ServiceItem/name',
      'ServiceItem/descriptiveName',
      'ServiceItem/path',
      'RegistryItem/Path',
    ])
      expect(terms).toContain(t);
    // Registry terms: a Windows collector exists (Critical Areas Scan only, terms not proved live), so no OS evaluates them yet.
    expect(
      TERM_TABLE.filter((t) => t.document === 'RegistryItem').every((t) => t.platforms.length === 0 && t.fixtureOnly?.join() === 'windows'),
    ).toBe(true);
  });
});
