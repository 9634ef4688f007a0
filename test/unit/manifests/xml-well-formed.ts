/**
 * A tiny XML reader for the templates in manifests/ (ADMX, ADML, plist, mobileconfig): enough to prove a file is
 * well-formed (one root, matched tags, quoted attributes, known entities) and to walk its elements. Not a general
 * parser: no DTD internal subsets, no namespaces resolution.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITY = /&(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(s: string, where: string): string {
  if (/&/.test(s.replace(ENTITY, ''))) throw new Error(`bad entity in ${where}: ${s.slice(0, 60)}`);
  return s.replace(ENTITY, (e) => ({ '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&apos;': "'" })[e] ?? e);
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (msg: string): never => {
    const line = xml.slice(0, i).split('\n').length;
    throw new Error(`line ${line}: ${msg}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (text.trim()) {
      if (!stack.length) fail(`text outside the root element: ${text.trim().slice(0, 40)}`);
      stack[stack.length - 1]!.text += decode(text, 'text');
    }
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) fail('unterminated comment');
      if (xml.slice(i + 4, end).includes('--')) fail('"--" inside a comment');
      i = end + 3;
    } else if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) fail('unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA');
      if (stack.length) stack[stack.length - 1]!.text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!DOCTYPE', i)) {
      if (root || stack.length) fail('DOCTYPE after the root element');
      const end = xml.indexOf('>', i);
      if (end < 0 || xml.slice(i, end).includes('[')) fail('unsupported DOCTYPE');
      i = end + 1;
    } else if (xml.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(xml.slice(i));
      if (!m) fail('malformed end tag');
      const open = stack.pop();
      if (!open || open.name !== m![1]) fail(`</${m![1]}> does not close <${open?.name ?? '(nothing)'}>`);
      i += m![0].length;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(xml.slice(i));
      if (!m) fail(`malformed start tag: ${xml.slice(i, i + 60)}`);
      const attrs: Record<string, string> = {};
      for (const a of m![2]!.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1]! in attrs) fail(`attribute ${a[1]} twice`);
        attrs[a[1]!] = decode(a[2] ?? a[3] ?? '', `attribute ${a[1]}`);
      }
      const el: XmlElement = { name: m![1]!, attrs, children: [], text: '' };
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else if (root) fail('a second root element');
      else root = el;
      if (!m![3]) stack.push(el);
      i += m![0].length;
    }
  }
  if (stack.length) fail(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (!root) fail('no root element');
  return root!;
}

/** Every element below (and including) `el`, depth first. */
export function allElements(el: XmlElement): XmlElement[] {
  return [el, ...el.children.flatMap(allElements)];
}

/** A plist value as plain JSON (dict, array, string, integer, true/false). */
export function plistValue(el: XmlElement): unknown {
  switch (el.name) {
    case 'dict': {
      const out: Record<string, unknown> = {};
      for (let k = 0; k < el.children.length; k += 2) {
        const key = el.children[k]!;
        if (key.name !== 'key') throw new Error(`plist dict: expected <key>, found <${key.name}>`);
        const value = el.children[k + 1];
        if (!value) throw new Error(`plist dict: key ${key.text} has no value`);
        out[key.text] = plistValue(value);
      }
      return out;
    }
    case 'array':
      return el.children.map(plistValue);
    case 'string':
      return el.text;
    case 'integer':
      return Number(el.text);
    case 'true':
      return true;
    case 'false':
      return false;
    default:
      throw new Error(`plist: unsupported <${el.name}>`);
  }
}
