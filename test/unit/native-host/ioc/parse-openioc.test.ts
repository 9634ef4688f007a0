import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SandgateError, openIocSchema } from '@sandgate/shared';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';
import { MAX_IOC_FILE_BYTES } from '@sandgate/shared/openioc-parse';
import { FIXTURES, fixture, ioc11, item } from './ioc-helpers.ts';

function errorOf(fn: () => unknown): SandgateError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SandgateError) return e;
    throw e;
  }
  throw new Error('expected a SandgateError');
}

const malformed = (name: string) => () => parseOpenIoc(readFileSync(join(FIXTURES, 'malformed', name)), name);

describe('parsing OpenIOC files', () => {
  it('reads a 1.0 file: metadata, nested AND under OR, 1.0 conditions with no case or negate attributes', () => {
    const { ioc } = fixture('eicar-1.0.ioc');
    expect(openIocSchema.parse(ioc)).toEqual(ioc);
    expect(ioc).toMatchObject({
      version: '1.0',
      id: '1e0c0000-0000-4000-8000-000000000001',
      shortDescription: 'EICAR (1.0)',
      authoredBy: 'Sandgate tests',
    });
    expect(ioc.links).toEqual([{ rel: 'category', text: 'Test' }]);
    const top = ioc.criteria[0]!;
    expect(top).toMatchObject({ kind: 'indicator', operator: 'OR', line: 13 });
    expect(top.children.map((c) => c.kind)).toEqual(['item', 'indicator']);
    expect(top.children[0]).toMatchObject({
      condition: 'is',
      search: 'FileItem/Md5sum',
      contentType: 'md5',
      negate: false,
      preserveCase: false,
      line: 14,
    });
    const and = top.children[1]!;
    expect(and.kind === 'indicator' && and.children.map((c) => (c.kind === 'item' ? c.condition : '?'))).toEqual([
      'contains',
      'is',
      'containsnot',
      'isnot',
    ]);
  });

  it('reads a 1.1 file: preserve-case and negate attributes, every document it names', () => {
    const { ioc } = fixture('dropper-1.1.ioc');
    expect(ioc.version).toBe('1.1');
    const items = JSON.stringify(ioc);
    expect(items).toContain('"search":"ProcessItem/arguments"');
    const top = ioc.criteria[0]!;
    const proc = top.children.find((c) => c.id === 'and-process');
    expect(proc?.kind === 'indicator' && proc.children[0]).toMatchObject({ id: 'proc-name', preserveCase: true, negate: false });
    const svc = top.children.find((c) => c.id === 'and-service');
    expect(svc?.kind === 'indicator' && svc.children[1]).toMatchObject({ id: 'svc-desc', condition: 'contains', negate: true });
  });

  it('keeps string content exactly as written but trims typed content', () => {
    const ioc = parseOpenIoc(
      ioc11(
        `<Indicator operator="or" id="t">${item('FileItem/FileName', 'is', ' spaced ')}${item('FileItem/SizeInBytes', 'is', ' 12 ', { type: 'int' })}</Indicator>`,
      ),
      'x.ioc',
    );
    const [a, b] = ioc.criteria[0]!.children;
    expect(a).toMatchObject({ content: ' spaced ' });
    expect(b).toMatchObject({ content: '12' });
    expect(ioc.criteria[0]!.operator).toBe('OR');
  });

  it('names the line of a tag that is never closed', () => {
    const e = errorOf(malformed('unclosed-tag.ioc'));
    expect(e.code).toBe('IOC_PARSE_FAILED');
    expect(e.params).toMatchObject({ file: 'unclosed-tag.ioc', line: 9 });
    expect(e.message).toMatch(/^unclosed-tag\.ioc:9:\d+: /);
  });

  it('names the line of an IndicatorItem without Content', () => {
    const e = errorOf(malformed('missing-content.ioc'));
    expect(e.code).toBe('IOC_PARSE_FAILED');
    expect(e.params).toMatchObject({ line: 9 });
    expect(e.message).toContain('no <Content>');
  });

  it('refuses an unknown condition (begins-with is not in the 1.1 schema) at its line', () => {
    const e = errorOf(malformed('unknown-condition.ioc'));
    expect(e.code).toBe('IOC_PARSE_FAILED');
    expect(e.params).toMatchObject({ line: 6 });
    expect(e.message).toContain('begins-with');
  });

  it('refuses a DOCTYPE, so an external entity is never read', () => {
    const e = errorOf(malformed('external-entity.ioc'));
    expect(e.code).toBe('IOC_PARSE_FAILED');
    expect(e.params).toMatchObject({ line: 2 });
    expect(e.message).toContain('DOCTYPE');
    expect(e.message).not.toContain('root:');
  });

  it('refuses an entity nobody declared', () => {
    const xml = ioc11(`<Indicator operator="OR" id="t">${item('FileItem/FileName', 'is', 'x')}</Indicator>`).replace('>x<', '>&lol;<');
    expect(errorOf(() => parseOpenIoc(xml, 'e.ioc')).code).toBe('IOC_PARSE_FAILED');
  });

  it('says a STIX file is not OpenIOC 1.0 or 1.1', () => {
    const e = errorOf(malformed('stix-not-openioc.xml'));
    expect(e.code).toBe('IOC_UNSUPPORTED_VERSION');
    expect(e.params).toMatchObject({ root: 'STIX_Package', line: 2 });
  });

  it('says so when the root is right but the namespace is another', () => {
    const xml = '<OpenIOC xmlns="http://example.com/not-openioc" id="x"><metadata/><criteria/></OpenIOC>';
    expect(errorOf(() => parseOpenIoc(xml, 'ns.ioc')).code).toBe('IOC_UNSUPPORTED_VERSION');
  });

  it('refuses a file over 10 MiB before parsing it', () => {
    const big = new Uint8Array(MAX_IOC_FILE_BYTES + 1).fill(0x20);
    expect(errorOf(() => parseOpenIoc(big, 'big.ioc')).code).toBe('IOC_FILE_TOO_LARGE');
  });

  it('refuses elements nested deeper than the parser allows', () => {
    const deep = '<Indicator operator="OR" id="d">'.repeat(300) + '</Indicator>'.repeat(300);
    expect(errorOf(() => parseOpenIoc(ioc11(deep), 'deep.ioc')).code).toBe('IOC_FILE_TOO_LARGE');
  });

  it('refuses an Indicator whose operator is neither AND nor OR', () => {
    const e = errorOf(() =>
      parseOpenIoc(ioc11(`<Indicator operator="XOR" id="t">${item('FileItem/FileName', 'is', 'x')}</Indicator>`), 'op.ioc'),
    );
    expect(e.code).toBe('IOC_PARSE_FAILED');
    expect(e.message).toContain('XOR');
  });

  it('reads a file saved as UTF-16 with a byte-order mark', () => {
    const text = ioc11(`<Indicator operator="OR" id="t">${item('FileItem/FileName', 'is', 'résumé.exe')}</Indicator>`).replace(
      '<?xml version="1.0"?>',
      '<?xml version="1.0" encoding="UTF-16"?>',
    );
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(parseOpenIoc(bytes, 'u16.ioc').criteria[0]!.children[0]).toMatchObject({ content: 'résumé.exe' });
  });
});
