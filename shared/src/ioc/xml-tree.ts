import { SaxesParser, type SaxesTagNS } from 'saxes';
import { SandgateError } from '../errors/sandgate-error.ts';

// Not an XML parser of our own: saxes (a maintained, spec-conforming, non-validating SAX parser that never reads a
// DTD or fetches an entity) does the parsing; this file only builds the small element tree the IOC reader walks.

/** A parsed XML element, namespace-resolved, with the line its start tag is on. */
export interface XmlElement {
  /** Local name, without prefix. */
  name: string;
  /** Namespace URI ('' when none). */
  uri: string;
  /** Attributes by local name (prefixed `xmlns:*` declarations are not kept). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element (text and CDATA). */
  text: string;
  line: number;
}

export const MAX_IOC_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_XML_DEPTH = 256;

/**
 * Strict, non-validating parse of an untrusted XML file into a small tree. A DOCTYPE is refused outright: no DTD is read,
 * so no external or internal entity can be declared (only the five predefined entities and character references exist),
 * which rules out XXE and entity-expansion bombs. Size and depth are bounded.
 */
export function parseXmlTree(bytes: Uint8Array, file: string): XmlElement {
  if (bytes.byteLength > MAX_IOC_FILE_BYTES) {
    throw new SandgateError(
      'IOC_FILE_TOO_LARGE',
      `${file}: ${bytes.byteLength} bytes, more than the ${MAX_IOC_FILE_BYTES} an IOC file may have`,
      {
        params: { file, bytes: bytes.byteLength },
      },
    );
  }
  const text = decode(bytes);
  const parser = new SaxesParser({ xmlns: true, position: true });
  const fail = (message: string, line = parser.line, column = parser.column): never => {
    throw new SandgateError('IOC_PARSE_FAILED', `${file}:${line}:${column}: ${message}`, { params: { file, line, column } });
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  parser.on('error', (e) => fail(e.message.replace(/^[^:]*:\d+:\d+: /, '')));
  parser.on('doctype', () => fail('a DOCTYPE is not allowed in an IOC file (no DTD is processed)'));
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (stack.length >= MAX_XML_DEPTH) {
      throw new SandgateError('IOC_FILE_TOO_LARGE', `${file}:${parser.line}: elements nested deeper than ${MAX_XML_DEPTH}`, {
        params: { file, line: parser.line },
      });
    }
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
      attrs[a.local] = a.value;
    }
    const el: XmlElement = { name: tag.local, uri: tag.uri, attrs, children: [], text: '', line: parser.line };
    const parent = stack.at(-1);
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const addText = (t: string) => {
    const top = stack.at(-1);
    if (top) top.text += t;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.write(text).close();
  if (!root) fail('no root element');
  return root!;
}

/** UTF-8 unless a byte-order mark says UTF-16; a UTF-8 BOM is dropped; bytes that are not UTF-8 are read as Latin-1. */
function decode(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le', { fatal: true }).decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be', { fatal: true }).decode(bytes.subarray(2));
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start));
  } catch {
    // Latin-1 files exist in the wild (declared `us-ascii` but with a stray é); read them byte for byte.
    return new TextDecoder('latin1').decode(bytes.subarray(start));
  }
}
