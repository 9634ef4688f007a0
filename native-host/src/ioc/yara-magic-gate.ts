/**
 * A cheap condition in front of YARA: a rule whose condition is a conjunction with a fixed number at a fixed offset
 * (`uint16(0) == 0x5A4D and …`, `uint32(0) == 0x464C457F and (…)`) cannot match a file whose bytes there differ. Such
 * rules are compiled apart from the others, and a file that has none of their numbers is not given to them at all:
 * the engine would search all its bytes for the rules' strings first and only then find each condition false (1,200
 * of the 1,204 ReversingLabs rules start so; four have a top-level `or`). A rule this reader does not follow (a
 * top-level `or`, a reference to another rule, a number compared another way) sees every file.
 */

export interface MagicCheck {
  offset: number;
  bytes: 1 | 2 | 4;
  bigEndian: boolean;
  value: number;
}

const NUMBER = '(0x[0-9a-fA-F]+|\\d+)';
const READ = `uint(8|16|32)(be)?\\s*\\(\\s*${NUMBER}\\s*\\)`;
const MAGIC = new RegExp(`^(?:${READ}\\s*==\\s*${NUMBER}|${NUMBER}\\s*==\\s*${READ})$`);

/** The fixed number a rule's condition demands at the top level, if any. */
export function ruleMagic(ruleText: string): MagicCheck | undefined {
  // Text and regular expressions emptied first (the same length is not needed), then comments dropped.
  const blank = ruleText
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
    .replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\bmatches\s*\/(?:[^/\\\n]|\\.)*\/[is]*/g, 'matches //');
  const at = [...blank.matchAll(/\bcondition\s*:/g)].pop();
  const end = blank.lastIndexOf('}');
  if (!at || end < 0) return undefined;
  const condition = blank.slice(at.index + at[0].length, end);
  const conjuncts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < condition.length; i++) {
    const c = condition[i]!;
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (depth === 0 && /[ao]/.test(c) && /\W/.test(condition[i - 1] ?? ' ')) {
      const word = /^(and|or)\b/.exec(condition.slice(i))?.[1];
      if (word === 'or') return undefined;
      if (word === 'and') {
        conjuncts.push(condition.slice(start, i));
        start = i + 3;
      }
    }
  }
  conjuncts.push(condition.slice(start));
  for (const raw of conjuncts) {
    const m = MAGIC.exec(unwrap(raw.trim()));
    if (!m) continue;
    const [bits, be, offset, value] = m[1] ? [m[1], m[2], m[3], m[4]] : [m[6], m[7], m[8], m[5]];
    const bytes = (Number(bits) / 8) as 1 | 2 | 4;
    const v = Number(value);
    if (v >= 2 ** (8 * bytes)) return undefined; // never true: leave it to the engine
    return { offset: Number(offset), bytes, bigEndian: !!be, value: v };
  }
  return undefined;
}

/** Strips parentheses around the whole expression: `((x))` → `x`, but not `(a) and (b)`. */
function unwrap(s: string): string {
  for (;;) {
    if (!s.startsWith('(') || !s.endsWith(')')) return s;
    let depth = 0;
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '(') depth++;
      else if (s[i] === ')') depth--;
      if (depth === 0 && i < s.length - 1) return s;
    }
    s = s.slice(1, -1).trim();
  }
}

/**
 * The rules that have such a number (`gated`, with the distinct `checks`), and the others (`open`), which must see
 * every file. `private` and `global` rules change what other rules mean: with one of them, nothing is split.
 */
export function splitByMagic(ruleTexts: readonly string[]): { gated: string[]; open: string[]; checks: MagicCheck[] } {
  const checks = new Map<string, MagicCheck>();
  const gated: string[] = [];
  const open: string[] = [];
  if (ruleTexts.some((t) => /^\s*(private|global)\b/.test(t))) return { gated, open: [...ruleTexts], checks: [] };
  for (const t of ruleTexts) {
    const m = ruleMagic(t);
    if (!m) {
      open.push(t);
      continue;
    }
    gated.push(t);
    checks.set(`${m.offset}:${m.bytes}:${m.bigEndian}:${m.value}`, m);
  }
  return { gated, open, checks: [...checks.values()] };
}

/** Whether any rule of a gated set could match these bytes (the file's first bytes, as YARA-X will see them). */
export function passesGate(gate: readonly MagicCheck[], data: Buffer): boolean {
  return gate.some((g) => {
    if (g.offset + g.bytes > data.length) return false;
    const v =
      g.bytes === 1
        ? data.readUInt8(g.offset)
        : g.bytes === 2
          ? g.bigEndian
            ? data.readUInt16BE(g.offset)
            : data.readUInt16LE(g.offset)
          : g.bigEndian
            ? data.readUInt32BE(g.offset)
            : data.readUInt32LE(g.offset);
    return v === g.value;
  });
}
