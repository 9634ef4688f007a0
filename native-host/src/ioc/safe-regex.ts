import { setFlagsFromString } from 'node:v8';

/**
 * `matches` patterns come from IOC files, and the text they run on (file names, command lines) can come from an
 * attacker, so a backtracking engine could be made to hang the scan (`(a+)+$` against "aaaa…!"). Every pattern is
 * therefore compiled for V8's linear-time engine (the `l` flag; Node has no RE2 and we add no native module): matching
 * costs O(pattern × text) whatever the input. That engine refuses what it cannot run in linear time (backreferences,
 * lookahead, a counted repetition above 16); such a pattern is an unsupported term with the reason, never a slow one.
 * Why not a package: `re2` is a native addon built by node-gyp at install (a compiler on every workstation, or a
 * binary fetched from GitHub at install time), and `re2-wasm` has a single published release (1.0.2);
 * V8's own linear engine gives the same guarantee with nothing added to the agent.
 * Two rewrites widen what it accepts without changing the language: `x{n,m}` over one character or class with n or m
 * above 16 is split into repetitions of at most 16, and case-insensitive matching (no `preserve-case`) lower-cases the
 * pattern's literals and the input instead of using the `i` flag, which the linear engine rejects.
 */

export type SafeRegex = { ok: true; test(text: string): boolean } | { ok: false; reason: string };

const MAX_PATTERN_CHARS = 4096;
const MAX_LINEAR_REPEAT = 16;
let engine: 'unknown' | 'available' | 'missing' = 'unknown';

function linearEngineAvailable(): boolean {
  if (engine === 'unknown') {
    try {
      // Only makes V8 recognise the `l` flag; regexes without it are unaffected.
      setFlagsFromString('--enable-experimental-regexp-engine');
      new RegExp('a', 'l');
      engine = 'available';
    } catch {
      engine = 'missing';
    }
  }
  return engine === 'available';
}

export function compileSafeRegex(pattern: string, caseInsensitive: boolean): SafeRegex {
  if (pattern.length > MAX_PATTERN_CHARS) return { ok: false, reason: `regular expression longer than ${MAX_PATTERN_CHARS} characters` };
  if (!linearEngineAvailable()) return { ok: false, reason: 'this Node build has no linear-time regular-expression engine' };
  let source: string;
  try {
    source = rewrite(pattern, caseInsensitive);
  } catch (e) {
    return { ok: false, reason: `regular expression not understood: ${(e as Error).message}` };
  }
  let re: RegExp;
  try {
    re = new RegExp(source, 'l');
  } catch (e) {
    const message = (e as Error).message;
    return {
      ok: false,
      reason: /linear time/.test(message)
        ? 'regular expression needs backtracking (backreference, lookahead or large counted repetition), which could hang a scan'
        : `invalid regular expression: ${message}`,
    };
  }
  return { ok: true, test: caseInsensitive ? (t) => re.test(t.toLowerCase()) : (t) => re.test(t) };
}

// Escapes whose letter is part of their meaning, so lower-casing it would change it (`\W` is not `\w`).
const MEANINGFUL_ESCAPES = new Set([...'dDwWsSbBnrtfv0123456789xucpPk']);

function rewrite(pattern: string, ci: boolean): string {
  const out: string[] = [];
  // Start index in `out` of the last atom, and whether it is a single character or class (splittable).
  let lastAtom = -1;
  let lastSingle = false;
  const groupStarts: number[] = [];
  const lit = (ch: string) => (ci ? ch.toLowerCase() : ch);
  let i = 0;
  const escape = (): string => {
    const next = pattern[i + 1];
    if (next === undefined) throw new Error('pattern ends with a backslash');
    let len = 2;
    if (next === 'x') len = 4;
    else if (next === 'u') len = pattern[i + 2] === '{' ? pattern.indexOf('}', i) - i + 1 : 6;
    else if (next === 'c') len = 3;
    const text = pattern.slice(i, i + Math.max(len, 2));
    i += Math.max(len, 2);
    return MEANINGFUL_ESCAPES.has(next) ? text : '\\' + lit(next);
  };
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      lastAtom = out.length;
      lastSingle = true;
      out.push(escape());
    } else if (ch === '[') {
      let cls = '[';
      i++;
      if (pattern[i] === '^') ((cls += '^'), i++);
      if (pattern[i] === ']') ((cls += ']'), i++);
      while (i < pattern.length && pattern[i] !== ']') {
        if (pattern[i] === '\\') cls += escape();
        else cls += lit(pattern[i++]!);
      }
      if (i >= pattern.length) throw new Error('unterminated character class');
      i++;
      lastAtom = out.length;
      lastSingle = true;
      out.push(cls + ']');
    } else if (ch === '(') {
      groupStarts.push(out.length);
      const m = /^\(\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(pattern.slice(i));
      const open = m ? m[0] : '(';
      out.push(open);
      i += open.length;
      lastAtom = -1;
    } else if (ch === ')') {
      out.push(')');
      i++;
      lastAtom = groupStarts.pop() ?? -1;
      lastSingle = false;
    } else if (ch === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i))) {
      const m = /^\{(\d+)(?:,(\d*))?\}(\??)/.exec(pattern.slice(i))!;
      i += m[0].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[2] === '' ? Infinity : Number(m[2]);
      if (lastAtom >= 0 && lastSingle && (min > MAX_LINEAR_REPEAT || (max !== Infinity && max > MAX_LINEAR_REPEAT))) {
        const atom = out.splice(lastAtom).join('');
        out.push(splitRepeat(atom, min, max, m[3]!));
      } else out.push(m[0]);
      lastAtom = -1;
    } else {
      if (ch === '*' || ch === '+' || ch === '?' || ch === '|' || ch === '^' || ch === '$') lastAtom = -1;
      else {
        lastAtom = out.length;
        lastSingle = true;
      }
      out.push(ch === '*' || ch === '+' || ch === '?' || ch === '|' || ch === '^' || ch === '$' || ch === '.' ? ch : lit(ch));
      i++;
    }
  }
  return out.join('');
}

function splitRepeat(atom: string, min: number, max: number, lazy: string): string {
  const parts: string[] = [];
  for (let left = min; left > 0; left -= MAX_LINEAR_REPEAT) parts.push(`${atom}{${Math.min(left, MAX_LINEAR_REPEAT)}}${lazy}`);
  if (max === Infinity) parts.push(`${atom}*${lazy}`);
  else for (let left = max - min; left > 0; left -= MAX_LINEAR_REPEAT) parts.push(`${atom}{0,${Math.min(left, MAX_LINEAR_REPEAT)}}${lazy}`);
  return `(?:${parts.join('')})`;
}
