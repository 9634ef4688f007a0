import { BlockList, isIP } from 'node:net';
import type { IocItem } from '@sandgate/shared';
import { compileSafeRegex } from './safe-regex.ts';
import { CONDITIONS_BY_TYPE, type TermDef, type TermValue } from './term-table.ts';

/**
 * One `IndicatorItem` compiled against its term. `eq` is set when the item is a plain positive equality (`is`, no
 * negation), so the compiler can index it: a hash in a set, a size or a file name as a cheap key.
 */
export type CompiledCondition = { ok: true; test: (value: TermValue) => boolean; eq?: string | number } | { ok: false; reason: string };

const RANGE = /^\[?\s*([^\s\[\]]+)\s+TO\s+([^\s\[\]]+)\s*\]?$/;

export function compileCondition(item: IocItem, def: TermDef): CompiledCondition {
  const base = item.condition === 'isnot' ? 'is' : item.condition === 'containsnot' ? 'contains' : item.condition;
  const invert = (base !== item.condition) !== item.negate;
  if (!CONDITIONS_BY_TYPE[def.type].includes(item.condition)) {
    return { ok: false, reason: `condition "${item.condition}" does not apply to ${def.type} term ${def.term}` };
  }
  const content = def.normalizeContent ? def.normalizeContent(item.content) : item.content;
  const compiled =
    def.type === 'int' || def.type === 'date' ? ordered(base, content, def.type) : textual(base, content, def.type, item.preserveCase);
  if (!compiled.ok) return compiled;
  const t = compiled.test;
  // An absent value (a process without a known path) makes the term false whatever the condition: we cannot assert it.
  const test = invert ? (v: TermValue) => v !== undefined && !t(v) : (v: TermValue) => v !== undefined && t(v);
  return invert || compiled.eq === undefined ? { ok: true, test } : { ok: true, test, eq: compiled.eq };
}

type Comparison = { ok: true; test: (v: NonNullable<TermValue>) => boolean; eq?: string | number } | { ok: false; reason: string };

function textual(base: string, content: string, type: TermDef['type'], preserveCase: boolean): Comparison {
  // Hex digests, IPv6 addresses and booleans are case-insensitive by nature, whatever the IOC says.
  const ci = type === 'hash' || type === 'ip' || type === 'bool' || !preserveCase;
  const c = ci ? content.toLowerCase() : content;
  const str = ci ? (v: NonNullable<TermValue>) => String(v).toLowerCase() : (v: NonNullable<TermValue>) => String(v);
  switch (base) {
    case 'is':
      return { ok: true, test: (v) => str(v) === c, eq: c };
    case 'contains':
      return { ok: true, test: (v) => str(v).includes(c) };
    case 'starts-with':
      return { ok: true, test: (v) => str(v).startsWith(c) };
    case 'ends-with':
      return { ok: true, test: (v) => str(v).endsWith(c) };
    case 'matches': {
      const cidr = type === 'ip' ? cidrBlock(content.trim()) : undefined;
      if (cidr) return { ok: true, test: (v) => cidr(String(v)) };
      const re = compileSafeRegex(content, ci);
      return re.ok ? { ok: true, test: (v) => re.test(String(v)) } : re;
    }
    default:
      return { ok: false, reason: `condition "${base}" is not supported on ${type} terms` };
  }
}

function cidrBlock(content: string): ((ip: string) => boolean) | undefined {
  const m = /^([0-9a-fA-F.:]+)\/(\d{1,3})$/.exec(content);
  const family = m ? isIP(m[1]!) : 0;
  if (!m || family === 0) return undefined;
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  try {
    list.addSubnet(m[1]!, Number(m[2]), type);
  } catch {
    return undefined;
  }
  return (ip) => {
    const f = isIP(ip);
    return f !== 0 && list.check(ip, f === 4 ? 'ipv4' : 'ipv6');
  };
}

function ordered(base: string, content: string, type: 'int' | 'date'): Comparison {
  const parse = type === 'int' ? parseInteger : parseDate;
  const asNumber = (v: NonNullable<TermValue>) => (v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Number.NaN);
  const range = RANGE.exec(content);
  if (range) {
    const lo = parse(range[1]!);
    const hi = parse(range[2]!);
    if (lo === undefined || hi === undefined)
      return { ok: false, reason: `range "${content}" is not two ${type === 'int' ? 'integers' : 'dates'}` };
    if (base !== 'is') return { ok: false, reason: `a "${content}" range works with "is" only` };
    return { ok: true, test: (v) => asNumber(v) >= lo && asNumber(v) <= hi };
  }
  const n = parse(content);
  if (n === undefined) return { ok: false, reason: `"${content}" is not ${type === 'int' ? 'an integer' : 'a date'}` };
  if (base === 'is') return { ok: true, test: (v) => asNumber(v) === n, eq: n };
  if (base === 'greater-than') return { ok: true, test: (v) => asNumber(v) > n };
  if (base === 'less-than') return { ok: true, test: (v) => asNumber(v) < n };
  return { ok: false, reason: `condition "${base}" is not supported on ${type} terms` };
}

function parseInteger(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : undefined;
}

function parseDate(s: string): number | undefined {
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
