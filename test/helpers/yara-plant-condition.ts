/**
 * A YARA condition, read far enough to plan a sample that satisfies it (test helper for planting samples for real
 * rules): `and`, `or`, parentheses, `$a`, `$a at N`, `$a at pe.entry_point` / `elf.entry_point`, `$a in (N..M)`,
 * `all of`/`any of`/`N of` over `them` or a list with `*` patterns, `#a` compared with a number,
 * `uintN[be](N) == X`, `filesize` compared with a number, `true`, and Authenticode signatures: `for any i in
 * (0..pe.number_of_signatures): (…)` over `pe.signatures[i].FIELD` compared with a string or a number, and
 * `pe.number_of_signatures > 0`. Anything else (`not`, other `for` loops, other module values, computed offsets)
 * becomes an `unplantable` node naming what it is, so the rule is reported, not guessed.
 */

export type Cond =
  | { k: 'and' | 'or'; xs: Cond[] }
  | { k: 'str'; id: string; at?: number | 'pe.entry_point' | 'elf.entry_point'; count?: number }
  | { k: 'of'; n: number | 'all' | 'any'; ids: string[] }
  | { k: 'uint'; bits: 8 | 16 | 32; be: boolean; offset: number; value: number }
  | { k: 'size'; op: string; n: number }
  | { k: 'true' }
  | { k: 'unplantable'; why: string }
  /** The file carries an Authenticode signature satisfying `body` (made of `sig` terms, `and`, `or`, `true`). */
  | { k: 'signed'; body: Cond }
  /** `pe.signatures[i].FIELD OP VALUE`, with a number on the left turned around (`N <= x` is `x >= N`). */
  | { k: 'sig'; field: string; op: string; value: string | number };

/** A YARA text string's value: `\"`, `\\`, `\xNN`, `\n`, `\t`, `\r` escapes, the bytes read as UTF-8. */
export function yaraStringValue(token: string): string {
  const bytes: number[] = [];
  const body = token.slice(1, -1);
  for (let k = 0; k < body.length; k++) {
    const c = body[k]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const e = body[++k];
    if (e === 'x') {
      bytes.push(parseInt(body.slice(k + 1, k + 3), 16));
      k += 2;
    } else bytes.push(({ n: 10, t: 9, r: 13 } as Record<string, number>)[e!] ?? e!.charCodeAt(0));
  }
  return Buffer.from(bytes).toString('utf8');
}

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };

const TOKEN =
  /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|(0x[0-9a-fA-F]+|\d+(?:KB|MB)?|[$#@!][A-Za-z0-9_]*\*?|[A-Za-z_][A-Za-z0-9_.]*|"(?:[^"\\]|\\.)*"|\.\.|==|!=|<=|>=|[<>()\[\],.:=+\-*\\%&|^~])/y;

function tokenize(src: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (!m || TOKEN.lastIndex === at) throw new Error(`condition: cannot read ${JSON.stringify(src.slice(at, at + 20))}`);
    if (m[1]) out.push(m[1]);
  }
  return out;
}

const num = (t: string | undefined): number | undefined => {
  if (t === undefined) return undefined;
  const m = /^(0x[0-9a-fA-F]+|\d+)(KB|MB)?$/.exec(t);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'KB' ? 1024 : m[2] === 'MB' ? 1024 * 1024 : 1);
};

/** Parses a condition; `stringIds` (every `$name` of the rule) expands `them` and `$prefix*`. */
export function parseCondition(src: string, stringIds: readonly string[]): Cond {
  const t = tokenize(src);
  let p = 0;
  const peek = () => t[p];
  const next = () => t[p++];
  const expect = (x: string) => {
    if (t[p] !== x) throw new Error(`condition: expected ${x} at ${t.slice(p, p + 5).join(' ')}`);
    p++;
  };
  /** Skips a balanced operand we cannot plan, to report it by name. */
  const skipOperand = (): string => {
    const start = p;
    let depth = 0;
    while (p < t.length) {
      const x = t[p]!;
      if (depth === 0 && (x === 'and' || x === 'or' || x === ')')) break;
      if (x === '(' || x === '[') depth++;
      if (x === ')' || x === ']') depth--;
      p++;
    }
    return t.slice(start, p).join(' ');
  };

  const or = (): Cond => {
    const xs = [and()];
    while (peek() === 'or') {
      next();
      xs.push(and());
    }
    return xs.length === 1 ? xs[0]! : { k: 'or', xs };
  };
  const and = (): Cond => {
    const xs = [unary()];
    while (peek() === 'and') {
      next();
      xs.push(unary());
    }
    return xs.length === 1 ? xs[0]! : { k: 'and', xs };
  };
  const unary = (): Cond => {
    const x = peek();
    if (x === 'not') {
      next();
      unary();
      return { k: 'unplantable', why: 'negation (not)' };
    }
    if (x === 'for') {
      const signed = signatureLoop();
      if (signed) return signed;
      const what = skipOperand();
      return { k: 'unplantable', why: /pe\.(signatures|number_of_signatures)/.test(what) ? 'pe.signatures (Authenticode)' : 'for loop' };
    }
    if (x === '(') {
      next();
      const e = or();
      expect(')');
      return e;
    }
    if (x === 'true') return (next(), { k: 'true' });
    if (x?.startsWith('$')) return stringTerm();
    if (x?.startsWith('#')) {
      next();
      const op = next();
      const n = num(next());
      const id = `$${x.slice(1)}`;
      if (n === undefined || !op) return { k: 'unplantable', why: 'string count compared with a non-number' };
      const count = op === '==' || op === '>=' ? n : op === '>' ? n + 1 : undefined;
      return count === undefined ? { k: 'unplantable', why: `string count ${op}` } : { k: 'str', id, count: Math.max(1, count) };
    }
    if (x === 'all' || x === 'any' || num(x) !== undefined) {
      if (t[p + 1] === 'of') return ofTerm();
    }
    const uint = x ? /^uint(8|16|32)(be)?$/.exec(x) : null;
    if (uint) {
      next();
      expect('(');
      const offset = num(next());
      if (offset === undefined || peek() !== ')') {
        skipOperand();
        return { k: 'unplantable', why: 'computed offset in uint()' };
      }
      expect(')');
      const op = next();
      const value = num(next());
      if (op !== '==' || value === undefined) return { k: 'unplantable', why: `uint() ${op}` };
      return { k: 'uint', bits: Number(uint[1]) as 8 | 16 | 32, be: !!uint[2], offset, value };
    }
    if (x === 'filesize') {
      next();
      const op = next()!;
      const n = num(next());
      return n === undefined ? { k: 'unplantable', why: 'filesize compared with a non-number' } : { k: 'size', op, n };
    }
    if (loopVar && (x === 'pe.signatures' || (num(x) !== undefined && t[p + 2] === 'pe.signatures'))) return sigTerm();
    if (x === 'pe.number_of_signatures' && ['> 0', '>= 1', '!= 0'].includes(`${t[p + 1]} ${t[p + 2]}`)) {
      p += 3;
      return { k: 'signed', body: { k: 'true' } };
    }
    const what = skipOperand();
    const mod = /^([a-z]+)\./.exec(what)?.[1];
    if (/pe\.(signatures|number_of_signatures)/.test(what)) return { k: 'unplantable', why: 'pe.signatures (Authenticode)' };
    return { k: 'unplantable', why: mod ? `module value ${what.split(/\s/)[0]}` : `expression ${what}` };
  };
  let loopVar: string | undefined;
  /** `for any V in (0..pe.number_of_signatures) : ( BODY )`, or undefined (nothing read) when it is another loop. */
  const signatureLoop = (): Cond | undefined => {
    const head = t.slice(p, p + 11).join(' ');
    const m = /^for any ([A-Za-z_]\w*) in \( 0 \.\. pe\.number_of_signatures \) : \($/.exec(head);
    if (!m) return undefined;
    p += 11;
    loopVar = m[1];
    const body = or();
    loopVar = undefined;
    expect(')');
    return { k: 'signed', body };
  };
  /** `pe.signatures[V].FIELD OP VALUE` or `NUMBER OP pe.signatures[V].FIELD`. */
  const sigTerm = (): Cond => {
    let left: number | undefined;
    let op: string | undefined;
    if (t[p] !== 'pe.signatures') {
      left = num(next());
      op = FLIP[next()!];
    }
    next(); // pe.signatures
    const [open, v, close, dot, field] = t.slice(p, p + 5);
    if (open !== '[' || v !== loopVar || close !== ']' || dot !== '.' || !field) {
      return { k: 'unplantable', why: `pe.signatures term ${skipOperand()}` };
    }
    p += 5;
    if (left !== undefined) return op ? { k: 'sig', field, op, value: left } : { k: 'unplantable', why: 'pe.signatures comparison' };
    if (peek() === 'and' || peek() === 'or' || peek() === ')' || peek() === undefined) {
      return { k: 'sig', field, op: 'is', value: 1 }; // a boolean field such as `verified`
    }
    op = next()!;
    const value = peek()!;
    const n = num(value);
    if (n !== undefined) return (next(), { k: 'sig', field, op, value: n });
    if (value.startsWith('"')) return (next(), { k: 'sig', field, op, value: yaraStringValue(value) });
    return { k: 'unplantable', why: `pe.signatures[i].${field} ${op} ${skipOperand()}` };
  };
  const stringTerm = (): Cond => {
    const id = next()!;
    if (peek() === 'at') {
      next();
      const target = next()!;
      const n = num(target);
      if (n !== undefined) return { k: 'str', id, at: n };
      if (target === 'pe.entry_point' || target === 'elf.entry_point') return { k: 'str', id, at: target };
      p--;
      return { k: 'unplantable', why: `$ at ${skipOperand()}` };
    }
    if (peek() === 'in') {
      next();
      expect('(');
      const lo = num(next());
      expect('..');
      next();
      expect(')');
      return lo === undefined ? { k: 'unplantable', why: 'string in a computed range' } : { k: 'str', id, at: lo };
    }
    return { k: 'str', id };
  };
  const ofTerm = (): Cond => {
    const q = next()!;
    next(); // of
    let ids: string[];
    if (peek() === 'them') {
      next();
      ids = [...stringIds];
    } else {
      expect('(');
      ids = [];
      for (;;) {
        const pat = next()!;
        ids.push(...(pat.endsWith('*') ? stringIds.filter((s) => s.startsWith(pat.slice(0, -1))) : [pat]));
        if (peek() === ',') next();
        else break;
      }
      expect(')');
    }
    return { k: 'of', n: q === 'all' || q === 'any' ? q : num(q)!, ids };
  };

  const c = or();
  if (p !== t.length) throw new Error(`condition: unread ${t.slice(p, p + 5).join(' ')}`);
  return c;
}
