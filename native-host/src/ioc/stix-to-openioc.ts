import type { IocCondition, IocIndicator, IocItem } from '@sandgate/shared';
import type { StixComparison, StixComparisonExpression, StixLiteral, StixObservationExpression } from '@sandgate/shared/stix-pattern';
import { findStixPath, STIX_TYPES_NOT_COLLECTED, type StixPathDef } from './stix-object-paths.ts';

/**
 * Turns one parsed STIX pattern into the OpenIOC logic tree the compiler already plans and indexes (so a STIX hash
 * indicator costs what the same hash as OpenIOC costs). What cannot be expressed is reported by name and follows the
 * OpenIOC rule: dropped from an OR, making an AND unmatchable; never silently false.
 *
 * Observation semantics: each `[…]` is about one observed object, and the engine evaluates one object at a time, so
 * `[A] OR [B]` is evaluated; `[A] AND [B]`, `FOLLOWEDBY` and the qualifiers `WITHIN`, `REPEATS`, `START … STOP` need
 * several observations or their times, and are reported unsupported.
 */

export interface StixUnsupported {
  /** What cannot be evaluated, by name: a STIX path, an operator, a qualifier. */
  term: string;
  reason: string;
}

export interface StixTranslation {
  /** Null when nothing of the pattern can be evaluated. */
  criteria: IocIndicator | null;
  unsupported: StixUnsupported[];
}

type Out = IocIndicator | IocItem | null;

export function stixPatternToOpenIoc(tree: StixObservationExpression, indicatorId: string): StixTranslation {
  const unsupported: StixUnsupported[] = [];
  let n = 0;
  const id = () => `${indicatorId}#${++n}`;
  const node = (operator: 'AND' | 'OR', parts: Array<{ out: Out; what: string }>, pos: number): Out => {
    const children: Array<IocIndicator | IocItem> = [];
    for (const p of parts) {
      if (p.out) children.push(p.out);
      else if (operator === 'AND') return null;
    }
    if (children.length === 0) return null;
    return children.length === 1 ? children[0]! : { kind: 'indicator', id: id(), operator, children, line: pos + 1 };
  };

  const observation = (o: StixObservationExpression): Out => {
    switch (o.kind) {
      case 'observation':
        return comparisons(o.comparison);
      case 'or':
        return node(
          'OR',
          o.children.map((c) => ({ out: observation(c), what: 'OR' })),
          o.pos,
        );
      case 'and':
        unsupported.push({
          term: 'observation operator AND',
          reason:
            'needs two objects observed separately ([A] AND [B]); the engine evaluates one object at a time, so this expression can never match here',
        });
        return null;
      case 'followedby':
        unsupported.push({
          term: 'observation operator FOLLOWEDBY',
          reason: 'needs the order in which objects were observed; a scan sees the present state only',
        });
        return null;
      case 'qualified':
        for (const q of o.qualifiers) {
          unsupported.push({
            term: `qualifier ${q.kind}`,
            reason:
              q.kind === 'REPEATS'
                ? 'needs the same observation counted over time; a scan sees each object once'
                : 'needs the times objects were observed; a scan sees the present state only',
          });
        }
        return null;
    }
  };

  const comparisons = (c: StixComparisonExpression): Out => {
    if ('children' in c) {
      return node(
        c.kind === 'and' ? 'AND' : 'OR',
        c.children.map((x) => ({ out: comparisons(x), what: c.kind })),
        c.pos,
      );
    }
    const r = comparison(c, id);
    if ('reason' in r) {
      unsupported.push(r);
      return null;
    }
    return r.out;
  };

  const criteria = observation(tree);
  const wrapped: IocIndicator | null =
    criteria === null
      ? null
      : criteria.kind === 'indicator'
        ? criteria
        : { kind: 'indicator', id: id(), operator: 'OR', children: [criteria], line: 1 };
  return { criteria: wrapped, unsupported };
}

function comparison(c: StixComparison, id: () => string): { out: Out } | StixUnsupported {
  const path = c.path.text;
  const def = findStixPath(path);
  if (!def) {
    const why = STIX_TYPES_NOT_COLLECTED[c.path.objectType];
    return {
      term: path,
      reason: why ?? `the object path ${path} is not evaluated by Sandgate (docs/ioc-terms.md lists the STIX paths it reads)`,
    };
  }
  if (c.kind === 'exists')
    return { term: `EXISTS ${path}`, reason: 'EXISTS is not evaluated (a collector reports absent and unknown alike)' };
  const values = c.op === 'IN' ? (c.value as StixLiteral[]) : [c.value as StixLiteral];
  const items: IocItem[] = [];
  for (const v of values) {
    const item = leaf(def, c, v, id);
    if ('reason' in item) return item;
    items.push(item);
  }
  if (c.op !== 'IN') return { out: items[0]! };
  if (items.length === 0)
    return c.negated ? { term: `${path} NOT IN ()`, reason: 'an empty set: true of everything, which is no indicator' } : { out: null };
  // `x IN (a, b)` is an OR of equalities; `x NOT IN (a, b)` an AND of inequalities.
  return {
    out:
      items.length === 1
        ? items[0]!
        : { kind: 'indicator', id: id(), operator: c.negated ? 'AND' : 'OR', children: items, line: c.pos + 1 },
  };
}

const INT_TERMS = new Set(['FileItem/SizeInBytes', 'ProcessItem/pid', 'PortItem/localPort', 'PortItem/remotePort']);
const IP_TERMS = new Set(['PortItem/localIP', 'PortItem/remoteIP']);

function leaf(
  def: StixPathDef,
  c: Extract<StixComparison, { kind: 'compare' }>,
  v: StixLiteral,
  id: () => string,
): IocItem | StixUnsupported {
  const path = c.path.text;
  const unsupported = (reason: string): StixUnsupported => ({ term: `${path} ${c.negated ? 'NOT ' : ''}${c.op}`, reason });
  const isInt = INT_TERMS.has(def.term);
  let condition: IocCondition;
  let content: string;
  let negate = c.negated;
  if (isInt) {
    if (v.kind !== 'int') return unsupported(`${path} is an integer; compared here with a ${v.kind} literal`);
    const n = v.value;
    switch (c.op) {
      case '=':
      case 'IN':
        [condition, content] = ['is', String(n)];
        break;
      case '!=':
        [condition, content, negate] = ['is', String(n), !negate];
        break;
      case '<':
        [condition, content] = ['less-than', String(n)];
        break;
      case '>':
        [condition, content] = ['greater-than', String(n)];
        break;
      case '<=':
        [condition, content] = ['less-than', String(n + 1)];
        break;
      case '>=':
        [condition, content] = ['greater-than', String(n - 1)];
        break;
      default:
        return unsupported(`${c.op} does not apply to the integer ${path}`);
    }
  } else {
    if (v.kind !== 'string') return unsupported(`${path} is text; compared here with a ${v.kind} literal`);
    const ip = IP_TERMS.has(def.term);
    switch (c.op) {
      case '=':
      case 'IN':
      case '!=':
        if (c.op === '!=') negate = !negate;
        if (ip && v.value.includes('/')) [condition, content] = ['matches', v.value];
        else if (def.via === 'basename') [condition, content] = ['matches', `(^|/)${escapeRegex(v.value)}$`];
        else [condition, content] = ['is', v.value];
        break;
      case 'LIKE':
        if (ip) return unsupported('LIKE does not apply to addresses (use ISSUBSET with a CIDR block)');
        [condition, content] = ['matches', `${def.via === 'basename' ? '(^|/)' : '^'}${likeToRegex(v.value)}$`];
        break;
      case 'MATCHES':
        if (ip) return unsupported('MATCHES does not apply to addresses (use ISSUBSET with a CIDR block)');
        // Applied to the executable's path, a pattern anchored with ^ would anchor at the folder: not what was meant.
        if (def.via === 'basename') return unsupported(`MATCHES on ${path} is not evaluated (the name is read from the executable's path)`);
        [condition, content] = ['matches', v.value];
        break;
      case 'ISSUBSET':
        if (!ip) return unsupported('ISSUBSET applies to addresses only');
        [condition, content] = ['matches', v.value.includes('/') ? v.value : `${v.value}/${v.value.includes(':') ? 128 : 32}`];
        break;
      default:
        return unsupported(`${c.op} is not evaluated on ${path} (no ordering of text, ISSUPERSET needs a block on our side)`);
    }
  }
  return {
    kind: 'item',
    id: id(),
    condition,
    negate,
    // STIX string comparisons are case-sensitive (hashes and addresses are folded by the engine whatever this says).
    preserveCase: true,
    document: def.term.split('/')[0]!,
    search: def.term,
    contentType: isInt ? 'int' : 'string',
    content,
    line: c.pos + 1,
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** SQL LIKE as STIX defines it: `%` any run, `_` one character, everything else literal. */
function likeToRegex(s: string): string {
  let out = '';
  for (const ch of s) out += ch === '%' ? '.*' : ch === '_' ? '.' : escapeRegex(ch);
  return out;
}
