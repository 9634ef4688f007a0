import { SandgateError } from '../errors/sandgate-error.ts';
import type { IocFormat } from './ioc-format.ts';

/**
 * Tells an IOC file's format by its content, never by its name (a `.ioc` may hold anything, a feed's `.json` may be
 * YARA): the first meaningful character or word after a byte-order mark, white space and comments.
 * - `<` → XML: OpenIOC (the OpenIOC parser then refuses other XML with `IOC_UNSUPPORTED_VERSION`);
 * - `{` → JSON: STIX 2.1 (a bundle or an indicator);
 * - `import`, `include`, `rule`, `private`, `global` (after `//` or `/* … *\/` comments) → YARA source.
 * Anything else, binary content included, is `IOC_FORMAT_UNKNOWN`.
 */

const YARA_START = new Set(['import', 'include', 'rule', 'private', 'global']);
/** Comments above the first rule are read at most this far (a file of comments only is not YARA). */
const MAX_LEAD = 64 * 1024;

export function detectIocFormat(bytes: Uint8Array, file: string): IocFormat {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  const limit = Math.min(bytes.length, MAX_LEAD);
  while (i < limit) {
    const c = bytes[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    if (c === 0x2f && bytes[i + 1] === 0x2f) {
      while (i < limit && bytes[i] !== 0x0a) i++;
      continue;
    }
    if (c === 0x2f && bytes[i + 1] === 0x2a) {
      let j = i + 2;
      while (j + 1 < limit && !(bytes[j] === 0x2a && bytes[j + 1] === 0x2f)) j++;
      i = j + 2;
      continue;
    }
    break;
  }
  if (i < limit) {
    const c = bytes[i]!;
    if (c === 0x3c) return 'openioc';
    if (c === 0x7b) return 'stix';
    let j = i;
    while (j < limit && ((bytes[j]! >= 0x61 && bytes[j]! <= 0x7a) || (bytes[j]! >= 0x41 && bytes[j]! <= 0x5a))) j++;
    const word = new TextDecoder().decode(bytes.subarray(i, j));
    if (YARA_START.has(word)) return 'yara';
  }
  const binary = bytes.subarray(0, 4096).includes(0);
  throw new SandgateError(
    'IOC_FORMAT_UNKNOWN',
    `${file}: ${bytes.length === 0 ? 'empty file' : binary ? 'binary content' : 'starts with neither "<" (OpenIOC XML), "{" (STIX 2.1 JSON) nor a YARA rule or import'}; Sandgate reads OpenIOC 1.0/1.1, STIX 2.1 bundles or indicators, and YARA rules`,
    { params: { file } },
  );
}
