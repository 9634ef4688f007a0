import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';
import { compileIndicatorSet, type CompileOptions } from '#native-host/ioc/compile-indicator-set.ts';
import type { FileObservation, HashName } from '#native-host/ioc/observation.ts';

export const FIXTURES = join(import.meta.dirname, '../../../fixtures/ioc');
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

export function fixture(name: string) {
  return { file: name, ioc: parseOpenIoc(readFileSync(join(FIXTURES, name)), name) };
}

export function setOf(names: string[], options: CompileOptions = { platform: 'linux' }) {
  return compileIndicatorSet(names.map(fixture), options);
}

/** A 1.1 IOC with one top-level indicator whose body is given as XML. */
export function ioc11(body: string, id = 'test-ioc'): string {
  return `<?xml version="1.0"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="${id}">
  <metadata><short_description>${id}</short_description><authored_date>2024-01-01T00:00:00Z</authored_date></metadata>
  <criteria>
${body}
  </criteria>
</OpenIOC>
`;
}

let n = 0;
export function item(
  search: string,
  condition: string,
  content: string,
  attrs: { preserveCase?: boolean; negate?: boolean; type?: string } = {},
): string {
  const esc = content.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<IndicatorItem id="item-${++n}" condition="${condition}" preserve-case="${attrs.preserveCase ?? false}" negate="${attrs.negate ?? false}">
  <Context document="${search.split('/')[0]}" search="${search}" type="mir"/>
  <Content type="${attrs.type ?? 'string'}">${esc}</Content>
</IndicatorItem>`;
}

export function or(...children: string[]): string {
  return `<Indicator operator="OR" id="or-${++n}">${children.join('\n')}</Indicator>`;
}
export function and(...children: string[]): string {
  return `<Indicator operator="AND" id="and-${++n}">${children.join('\n')}</Indicator>`;
}

export function compileText(xml: string, options: CompileOptions = { platform: 'linux' }) {
  return compileIndicatorSet([{ file: 'inline.ioc', ioc: parseOpenIoc(xml, 'inline.ioc') }], options);
}

/** A file as a scan would see it, whose hashes are computed on demand and whose reads are counted. */
export function fileObservation(
  fullPath: string,
  content: string | Buffer,
  modified = new Date('2024-05-01T12:00:00Z'),
): FileObservation & { reads: number; asked: HashName[][] } {
  const bytes = Buffer.from(content);
  const obs = {
    document: 'FileItem' as const,
    fullPath,
    fileName: basename(fullPath),
    fileExtension: extname(fullPath).slice(1).toLowerCase(),
    size: bytes.length,
    modified,
    reads: 0,
    asked: [] as HashName[][],
    async hashes(needed: ReadonlySet<HashName>) {
      obs.reads++;
      obs.asked.push([...needed].sort());
      const out: Partial<Record<HashName, string>> = {};
      for (const h of needed) out[h] = createHash(h).update(bytes).digest('hex');
      return out;
    },
  };
  return obs;
}
