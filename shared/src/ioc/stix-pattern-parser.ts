import { SandgateError } from '../errors/sandgate-error.ts';
import type {
  StixComparison,
  StixComparisonExpression,
  StixComparisonOperator,
  StixLiteral,
  StixObjectPath,
  StixObservationExpression,
  StixPathStep,
  StixQualifier,
} from './stix-pattern-ast.ts';
import { lexStixPattern, StixSyntaxError, type StixToken } from './stix-pattern-lexer.ts';

/**
 * A parser for the STIX 2.1 patterning language (STIX 2.1 §9, grammar `STIXPattern.g4`), written here because npm has
 * no maintained one: the OASIS reference validator is Python (ANTLR), and the few npm packages that touch STIX are
 * object models or viewers without a pattern parser (decision in docs/decisions.md).
 *
 * Hostile input is bounded: a pattern longer than `MAX_PATTERN_CHARS` is refused before lexing, parentheses and brackets
 * deeper than `MAX_DEPTH` are refused while parsing (the only recursion), and chains of AND / OR are parsed by loops,
 * so 100,000 ORs cost no stack. Lexing and parsing are one pass each: time is linear in the pattern's length.
 * Errors are `STIX_PATTERN_INVALID` with the offset.
 */

export const MAX_PATTERN_CHARS = 1024 * 1024;
export const MAX_DEPTH = 32;

const COMPARISON_WORDS = new Set(['IN', 'LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET']);
const HASH_LENGTHS: Record<string, number> = { MD5: 32, 'SHA-1': 40, 'SHA-256': 64, 'SHA-512': 128, 'SHA3-256': 64, 'SHA3-512': 128 };

export function parseStixPattern(pattern: string, where = 'pattern'): StixObservationExpression {
  if (pattern.length > MAX_PATTERN_CHARS) {
    throw new SandgateError(
      'STIX_PATTERN_INVALID',
      `${where}: pattern is ${pattern.length} characters; the limit is ${MAX_PATTERN_CHARS}`,
      {
        params: { where, length: pattern.length, limit: MAX_PATTERN_CHARS },
      },
    );
  }
  try {
    const p = new Parser(lexStixPattern(pattern));
    const tree = p.observations(0);
    p.expectEnd();
    return tree;
  } catch (err) {
    if (!(err instanceof StixSyntaxError)) throw err;
    throw new SandgateError('STIX_PATTERN_INVALID', `${where}: at ${err.pos}: ${err.message}`, { params: { where, position: err.pos } });
  }
}

class Parser {
  private i = 0;
  private readonly tokens: StixToken[];
  constructor(tokens: StixToken[]) {
    this.tokens = tokens;
  }

  private peek(): StixToken {
    return this.tokens[this.i]!;
  }
  private next(): StixToken {
    return this.tokens[this.i++]!;
  }
  private isWord(w: string): boolean {
    const t = this.peek();
    return t.t === 'word' && t.v === w;
  }
  private isPunct(v: string): boolean {
    const t = this.peek();
    return t.t === 'punct' && t.v === v;
  }
  private fail(message: string, t = this.peek()): never {
    throw new StixSyntaxError(t.pos, `${message}, found ${describe(t)}`);
  }
  private expectPunct(v: string): void {
    if (!this.isPunct(v)) this.fail(`expected "${v}"`);
    this.i++;
  }

  expectEnd(): void {
    if (this.peek().t !== 'eof') this.fail('expected the end of the pattern');
  }

  /** observationExpressions: OR-expressions joined by FOLLOWEDBY (lowest precedence), then OR, then AND. */
  observations(depth: number): StixObservationExpression {
    return this.chain('followedby', 'FOLLOWEDBY', () =>
      this.chain('or', 'OR', () => this.chain('and', 'AND', () => this.qualified(depth))),
    );
  }

  private chain(kind: 'and' | 'or' | 'followedby', word: string, operand: () => StixObservationExpression): StixObservationExpression {
    const pos = this.peek().pos;
    const first = operand();
    if (!this.isWord(word)) return first;
    const children = [first];
    while (this.isWord(word)) {
      this.i++;
      children.push(operand());
    }
    return { kind, children, pos };
  }

  private qualified(depth: number): StixObservationExpression {
    const pos = this.peek().pos;
    let expression: StixObservationExpression;
    let simple = false;
    if (this.isPunct('[')) {
      simple = true;
      this.i++;
      const comparison = this.comparisons(depth + 1);
      this.expectPunct(']');
      expression = { kind: 'observation', comparison, pos };
    } else if (this.isPunct('(')) {
      if (depth >= MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH}`);
      this.i++;
      expression = this.observations(depth + 1);
      this.expectPunct(')');
    } else this.fail('expected "[" or "(" to start an observation expression');
    const qualifiers: StixQualifier[] = [];
    for (;;) {
      const q = this.qualifier();
      if (!q) break;
      // As the reference validator: a simple `[…]` takes each qualifier once; a parenthesised expression may nest them.
      if (simple && qualifiers.some((x) => x.kind === q.kind)) throw new StixSyntaxError(pos, `duplicate qualifier ${q.kind}`);
      qualifiers.push(q);
    }
    return qualifiers.length ? { kind: 'qualified', expression, qualifiers, pos } : expression;
  }

  private qualifier(): StixQualifier | undefined {
    if (this.isWord('WITHIN')) {
      this.i++;
      const n = this.next();
      if (n.t !== 'literal' || (n.v.kind !== 'int' && n.v.kind !== 'float') || n.v.value <= 0 || n.raw.startsWith('-'))
        this.fail('WITHIN needs a positive number', n);
      if (!this.isWord('SECONDS')) this.fail('expected SECONDS');
      this.i++;
      return { kind: 'WITHIN', seconds: n.v.value };
    }
    if (this.isWord('REPEATS')) {
      this.i++;
      const n = this.next();
      if (n.t !== 'literal' || n.v.kind !== 'int' || n.v.value <= 0) this.fail('REPEATS needs a positive integer', n);
      if (!this.isWord('TIMES')) this.fail('expected TIMES');
      this.i++;
      return { kind: 'REPEATS', times: n.v.value };
    }
    if (this.isWord('START')) {
      this.i++;
      const a = this.next();
      if (a.t !== 'literal' || a.v.kind !== 'timestamp') this.fail("START needs a t'…' timestamp", a);
      if (!this.isWord('STOP')) this.fail('expected STOP');
      this.i++;
      const b = this.next();
      if (b.t !== 'literal' || b.v.kind !== 'timestamp') this.fail("STOP needs a t'…' timestamp", b);
      return { kind: 'START STOP', start: a.v.value, stop: b.v.value };
    }
    return undefined;
  }

  /** comparisonExpression: AND binds tighter than OR. */
  private comparisons(depth: number): StixComparisonExpression {
    const pos = this.peek().pos;
    const ors: StixComparisonExpression[] = [this.comparisonAnd(depth)];
    while (this.isWord('OR')) {
      this.i++;
      ors.push(this.comparisonAnd(depth));
    }
    return ors.length === 1 ? ors[0]! : { kind: 'or', children: ors, pos };
  }

  private comparisonAnd(depth: number): StixComparisonExpression {
    const pos = this.peek().pos;
    const ands: StixComparisonExpression[] = [this.propTest(depth)];
    while (this.isWord('AND')) {
      this.i++;
      ands.push(this.propTest(depth));
    }
    return ands.length === 1 ? ands[0]! : { kind: 'and', children: ands, pos };
  }

  private propTest(depth: number): StixComparisonExpression {
    const pos = this.peek().pos;
    if (this.isPunct('(')) {
      if (depth >= MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH}`);
      this.i++;
      const inner = this.comparisons(depth + 1);
      this.expectPunct(')');
      return inner;
    }
    let negated = false;
    if (this.isWord('NOT') && this.tokens[this.i + 1]?.t === 'word' && (this.tokens[this.i + 1] as { v: string }).v === 'EXISTS') {
      negated = true;
      this.i++;
    }
    if (this.isWord('EXISTS')) {
      this.i++;
      return { kind: 'exists', path: this.objectPath(), negated, pos };
    }
    const path = this.objectPath();
    if (this.isWord('NOT')) {
      negated = true;
      this.i++;
    }
    const t = this.next();
    let op: StixComparisonOperator;
    if (t.t === 'op') op = t.v;
    else if (t.t === 'word' && COMPARISON_WORDS.has(t.v)) op = t.v as StixComparisonOperator;
    else this.fail('expected a comparison operator (=, !=, <, >, <=, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)', t);
    const cmp: StixComparison = { kind: 'compare', path, negated, op, value: op === 'IN' ? this.set() : this.literal(op), pos };
    checkHash(cmp);
    return cmp;
  }

  private literal(op: StixComparisonOperator): StixLiteral {
    const t = this.next();
    if (t.t !== 'literal') this.fail('expected a literal', t);
    const stringOnly = op === 'LIKE' || op === 'MATCHES' || op === 'ISSUBSET' || op === 'ISSUPERSET';
    if (stringOnly && t.v.kind !== 'string') this.fail(`${op} needs a quoted string`, t);
    if ((op === '<' || op === '>' || op === '<=' || op === '>=') && t.v.kind === 'bool') this.fail(`${op} cannot compare a boolean`, t);
    return t.v;
  }

  private set(): StixLiteral[] {
    this.expectPunct('(');
    const out: StixLiteral[] = [];
    if (this.isPunct(')')) {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.literal('='));
      if (this.isPunct(')')) break;
      this.expectPunct(',');
    }
    this.i++;
    return out;
  }

  private objectPath(): StixObjectPath {
    const type = this.next();
    if (type.t !== 'word') this.fail('expected an object type (e.g. file)', type);
    if (!this.isPunct(':')) this.fail(`expected ":" after the object type ${type.v}`);
    this.i++;
    const steps: StixPathStep[] = [{ key: this.key() }];
    let text = `${type.v}:${quoteKey(steps[0]! as { key: string })}`;
    for (;;) {
      if (this.isPunct('.')) {
        this.i++;
        const key = this.key();
        steps.push({ key });
        text += `.${quoteKey({ key })}`;
      } else if (this.isPunct('[') && this.tokens[this.i + 2]?.t === 'punct' && (this.tokens[this.i + 2] as { v: string }).v === ']') {
        const idx = this.tokens[this.i + 1]!;
        if (idx.t === 'punct' && idx.v === '*') steps.push({ index: '*' });
        else if (idx.t === 'literal' && idx.v.kind === 'int') steps.push({ index: idx.v.value });
        else this.fail('expected an index or * between [ ]', idx);
        text += `[${idx.t === 'punct' ? '*' : (idx as { raw: string }).raw}]`;
        this.i += 3;
      } else break;
    }
    return { objectType: type.v, steps, text };
  }

  private key(): string {
    const t = this.next();
    if (t.t === 'word') return t.v;
    if (t.t === 'literal' && t.v.kind === 'string') return t.v.value;
    return this.fail('expected a property name', t);
  }
}

function quoteKey(step: { key: string }): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(step.key) ? step.key : `'${step.key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A hash compared for equality must look like one (the reference validator's semantic check). */
function checkHash(c: StixComparison): void {
  if (c.kind !== 'compare' || (c.op !== '=' && c.op !== '!=')) return;
  const steps = c.path.steps;
  const last = steps[steps.length - 1];
  const parent = steps[steps.length - 2];
  if (!last || !('key' in last) || !parent || !('key' in parent) || parent.key !== 'hashes') return;
  const want = HASH_LENGTHS[last.key.toUpperCase()];
  const v = c.value;
  if (want === undefined || Array.isArray(v) || v.kind !== 'string') return;
  if (v.value.length !== want || !/^[0-9a-fA-F]+$/.test(v.value))
    throw new StixSyntaxError(c.pos, `'${v.value}' is not a valid ${last.key} hash`);
}

function describe(t: StixToken): string {
  if (t.t === 'eof') return 'the end of the pattern';
  if (t.t === 'literal') return t.raw;
  return `"${t.v}"`;
}

export type * from './stix-pattern-ast.ts';
