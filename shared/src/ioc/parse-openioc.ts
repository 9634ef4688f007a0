import { SandgateError } from '../errors/sandgate-error.ts';
import {
  OPENIOC_NAMESPACES,
  iocConditionSchema,
  openIocSchema,
  type IocIndicator,
  type IocItem,
  type OpenIoc,
  type OpenIocVersion,
} from './openioc.ts';
import { parseXmlTree, type XmlElement } from './xml-tree.ts';

/**
 * Parses one OpenIOC 1.0 or 1.1 file (`.ioc` or `.xml`) into the shared model. Throws `IOC_PARSE_FAILED` with the file
 * and line for anything malformed, `IOC_UNSUPPORTED_VERSION` for other XML, `IOC_FILE_TOO_LARGE` past the limits.
 * Elements outside the OpenIOC namespace are ignored (vendors add their own); unknown elements inside an indicator are
 * errors, since silently skipping part of the logic tree would change what the IOC means.
 */
export function parseOpenIoc(bytes: Uint8Array | string, file: string): OpenIoc {
  const root = parseXmlTree(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes, file);
  const version = versionOf(root, file);
  const fail = (el: XmlElement, message: string): never => {
    throw new SandgateError('IOC_PARSE_FAILED', `${file}:${el.line}: ${message}`, { params: { file, line: el.line } });
  };
  const ns = root.uri;
  const child = (el: XmlElement, name: string) => el.children.find((c) => c.name === name && c.uri === ns);
  const textOf = (el: XmlElement | undefined) => (el ? el.text.trim() || undefined : undefined);

  const meta = version === '1.0' ? root : child(root, 'metadata');
  if (!meta) fail(root, 'OpenIOC 1.1 needs a <metadata> element');
  const logic = child(root, version === '1.0' ? 'definition' : 'criteria');
  if (!logic) fail(root, `missing <${version === '1.0' ? 'definition' : 'criteria'}>`);
  const id = root.attrs['id'];
  if (!id) fail(root, `<${root.name}> has no id attribute`);

  let anonymous = 0;
  const item = (el: XmlElement): IocItem => {
    const condition = iocConditionSchema.safeParse(el.attrs['condition']);
    if (!condition.success) fail(el, `IndicatorItem has an unknown condition "${el.attrs['condition'] ?? ''}"`);
    const context = child(el, 'Context');
    const content = child(el, 'Content');
    if (!context) fail(el, 'IndicatorItem has no <Context>');
    if (!content) fail(el, 'IndicatorItem has no <Content>');
    const search = context!.attrs['search'];
    if (!search) fail(context!, 'Context has no search attribute');
    const contentType = content!.attrs['type'] ?? 'string';
    return {
      kind: 'item',
      id: el.attrs['id'] || `line:${el.line}`,
      condition: condition.data!,
      negate: bool(el, 'negate'),
      preserveCase: bool(el, 'preserve-case'),
      document: context!.attrs['document'] ?? search!.split('/')[0]!,
      search: search!,
      ...(context!.attrs['type'] ? { contextType: context!.attrs['type'] } : {}),
      contentType,
      // Strings are compared exactly as written; other types tolerate the whitespace of pretty-printed files.
      content: contentType.toLowerCase() === 'string' ? content!.text : content!.text.trim(),
      line: el.line,
    };
  };
  const bool = (el: XmlElement, name: string): boolean => {
    const v = el.attrs[name];
    if (v === undefined) return false;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    return fail(el, `${name}="${v}" is not a boolean`);
  };
  const indicator = (el: XmlElement): IocIndicator => {
    const operator = (el.attrs['operator'] ?? '').toUpperCase();
    if (operator !== 'AND' && operator !== 'OR') fail(el, `Indicator operator "${el.attrs['operator'] ?? ''}" is neither AND nor OR`);
    const children: IocIndicator['children'] = [];
    for (const c of el.children) {
      if (c.uri !== ns) continue;
      if (c.name === 'IndicatorItem') children.push(item(c));
      else if (c.name === 'Indicator') children.push(indicator(c));
      else fail(c, `unexpected <${c.name}> inside an Indicator`);
    }
    return {
      kind: 'indicator',
      id: el.attrs['id'] || `line:${el.line}:${++anonymous}`,
      operator: operator as 'AND' | 'OR',
      children,
      line: el.line,
    };
  };

  const criteria = logic!.children.filter((c) => c.uri === ns && c.name === 'Indicator').map(indicator);
  if (criteria.length === 0) fail(logic!, `<${logic!.name}> holds no Indicator`);
  const links = (child(meta!, 'links')?.children ?? [])
    .filter((l) => l.name === 'link' && l.uri === ns)
    .map((l) => ({ rel: l.attrs['rel'] ?? '', ...(l.attrs['href'] ? { href: l.attrs['href'] } : {}), text: l.text.trim() }));
  const optional = (key: string, value: string | undefined) => (value === undefined ? {} : { [key]: value });
  const parsed = openIocSchema.safeParse({
    version,
    id,
    ...optional('lastModified', root.attrs['last-modified']),
    ...optional('shortDescription', textOf(child(meta!, 'short_description'))),
    ...optional('description', textOf(child(meta!, 'description'))),
    ...optional('authoredBy', textOf(child(meta!, 'authored_by'))),
    ...optional('authoredDate', textOf(child(meta!, 'authored_date'))),
    links,
    criteria,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(root, `does not fit the OpenIOC model (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`);
  }
  return parsed.data!;
}

function versionOf(root: XmlElement, file: string): OpenIocVersion {
  // 1.0 files without a namespace exist (hand-written); anything in another namespace is not OpenIOC.
  if (root.name === 'ioc' && (root.uri === OPENIOC_NAMESPACES['1.0'] || root.uri === '')) return '1.0';
  if (root.name === 'OpenIOC' && (root.uri === OPENIOC_NAMESPACES['1.1'] || root.uri === '')) return '1.1';
  throw new SandgateError(
    'IOC_UNSUPPORTED_VERSION',
    `${file}:${root.line}: root <${root.name}>${root.uri ? ` in namespace ${root.uri}` : ''} is neither OpenIOC 1.0 (<ioc xmlns="${OPENIOC_NAMESPACES['1.0']}">) nor 1.1 (<OpenIOC xmlns="${OPENIOC_NAMESPACES['1.1']}">)`,
    { params: { file, line: root.line, root: root.name, namespace: root.uri } },
  );
}

export { MAX_IOC_FILE_BYTES, MAX_XML_DEPTH } from './xml-tree.ts';
