import type { StixLiteral } from './stix-pattern-ast.ts';

/**
 * Tokens of the STIX 2.1 patterning language, after the official ANTLR grammar (`STIXPattern.g4`, OASIS
 * cti-stix2-json-schemas). One pass, no backtracking, no regular expression over the whole input: linear in its length.
 */
export type StixToken =
  | { t: 'punct'; v: '[' | ']' | '(' | ')' | ',' | ':' | '.' | '*'; pos: number }
  | { t: 'op'; v: '=' | '!=' | '<' | '>' | '<=' | '>='; pos: number }
  | { t: 'word'; v: string; pos: number }
  | { t: 'literal'; v: StixLiteral; pos: number; raw: string }
  | { t: 'eof'; pos: number };

/** Thrown by the lexer and the parser; the parser turns it into `STIX_PATTERN_INVALID`. */
export class StixSyntaxError extends Error {
  readonly pos: number;
  constructor(pos: number, message: string) {
    super(message);
    this.pos = pos;
  }
}

const TIMESTAMP = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?Z$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$/;
const isDigit = (c: string) => c >= '0' && c <= '9';
const isIdStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isIdPart = (c: string) => isIdStart(c) || isDigit(c) || c === '-';

export function lexStixPattern(src: string): StixToken[] {
  const out: StixToken[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    const pos = i;
    if ('[](),:*'.includes(c)) {
      out.push({ t: 'punct', v: c as '[', pos });
      i++;
      continue;
    }
    if (c === '.' && !isDigit(src[i + 1] ?? '')) {
      out.push({ t: 'punct', v: '.', pos });
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      out.push({ t: 'op', v: two === '==' ? '=' : two === '<>' ? '!=' : (two as '<='), pos });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      out.push({ t: 'op', v: c, pos });
      i++;
      continue;
    }
    if (c === "'") {
      const { value, end } = readString(src, i);
      out.push({ t: 'literal', v: { kind: 'string', value }, pos, raw: src.slice(pos, end) });
      i = end;
      continue;
    }
    if ((c === 'h' || c === 'b' || c === 't') && src[i + 1] === "'") {
      const { value, end } = readString(src, i + 1);
      out.push({ t: 'literal', v: prefixed(c, value, pos), pos, raw: src.slice(pos, end) });
      i = end;
      continue;
    }
    if (
      isDigit(c) ||
      ((c === '-' || c === '+' || c === '.') && (isDigit(src[i + 1] ?? '') || (src[i + 1] === '.' && isDigit(src[i + 2] ?? ''))))
    ) {
      let j = i + (c === '-' || c === '+' ? 1 : 0);
      while (j < src.length && isDigit(src[j]!)) j++;
      let float = false;
      if (src[j] === '.' && isDigit(src[j + 1] ?? '')) {
        float = true;
        j++;
        while (j < src.length && isDigit(src[j]!)) j++;
      }
      const raw = src.slice(i, j);
      const digits = raw.replace(/^[+-]/, '');
      if (!float && digits.length > 1 && digits.startsWith('0')) throw new StixSyntaxError(pos, `integer ${raw} has a leading zero`);
      const value = Number(raw);
      if (!float && !Number.isSafeInteger(value)) throw new StixSyntaxError(pos, `integer ${raw} is out of range`);
      out.push({ t: 'literal', v: float ? { kind: 'float', value } : { kind: 'int', value }, pos, raw });
      i = j;
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < src.length && isIdPart(src[j]!)) j++;
      const word = src.slice(i, j);
      if (word === 'true' || word === 'false') out.push({ t: 'literal', v: { kind: 'bool', value: word === 'true' }, pos, raw: word });
      else out.push({ t: 'word', v: word, pos });
      i = j;
      continue;
    }
    throw new StixSyntaxError(pos, `unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ t: 'eof', pos: src.length });
  return out;
}

/** A quoted string from `start` (the quote): `\'` and `\\` are the only escapes the grammar allows. */
function readString(src: string, start: number): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "'") return { value, end: i + 1 };
    if (c === '\\') {
      const n = src[i + 1];
      if (n !== "'" && n !== '\\') throw new StixSyntaxError(i, `"\\${n ?? ''}" is not an escape of the STIX grammar (only \\' and \\\\)`);
      value += n;
      i += 2;
      continue;
    }
    value += c;
    i++;
  }
  throw new StixSyntaxError(start, 'string is not closed');
}

function prefixed(prefix: 'h' | 'b' | 't', value: string, pos: number): StixLiteral {
  if (prefix === 'h') {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(value)) throw new StixSyntaxError(pos, `h'${value}' is not pairs of hex digits`);
    return { kind: 'hex', value: value.toLowerCase() };
  }
  if (prefix === 'b') {
    if (!BASE64.test(value)) throw new StixSyntaxError(pos, `b'${value}' is not base64`);
    return { kind: 'binary', value };
  }
  if (!TIMESTAMP.test(value)) throw new StixSyntaxError(pos, `t'${value}' is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)`);
  return { kind: 'timestamp', value };
}
