/**
 * Cuts YARA source into its top-level statements: the `import` lines (kept as a header for every rule) and each rule's
 * text with its name and line. Only used to compile the rules of a file that does not compile as a whole one at a
 * time; the engine still parses every rule itself. Comments, text strings, regular expressions and hex strings are
 * skipped so braces inside them do not count. One pass, linear in the source.
 */

export interface YaraRuleText {
  name: string;
  line: number;
  text: string;
}

export function splitYaraRules(src: string): { header: string; imports: string[]; rules: YaraRuleText[] } {
  const header: string[] = [];
  const rules: YaraRuleText[] = [];
  let i = 0;
  let depth = 0;
  let ruleStart = -1;
  let ruleName = '';
  let lastWord = '';
  let lastSignificant = '';
  const newlines: number[] = [];
  for (let k = src.indexOf('\n'); k >= 0; k = src.indexOf('\n', k + 1)) newlines.push(k);
  const lineAt = (pos: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  while (i < src.length) {
    const c = src[i]!;
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      const e = src.indexOf('\n', i);
      i = e < 0 ? src.length : e;
      continue;
    }
    if (c === '/' && n === '*') {
      const e = src.indexOf('*/', i + 2);
      i = e < 0 ? src.length : e + 2;
      continue;
    }
    if (c === '"' || (c === '/' && (lastSignificant === '=' || lastWord === 'matches'))) {
      // A text string or a regular expression: up to the next unescaped delimiter on the same line.
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      i = j + 1;
      lastSignificant = c;
      lastWord = '';
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      const word = src.slice(i, j);
      if (depth === 0) {
        if ((word === 'import' || word === 'include') && ruleStart < 0) {
          const q1 = src.indexOf('"', j);
          const q2 = q1 < 0 ? -1 : src.indexOf('"', q1 + 1);
          const end = q2 < 0 ? src.length : q2 + 1;
          header.push(src.slice(i, end));
          i = end;
          lastWord = '';
          continue;
        }
        if ((word === 'private' || word === 'global' || word === 'rule') && ruleStart < 0) ruleStart = i;
        if (lastWord === 'rule' && ruleStart >= 0 && !ruleName) ruleName = word;
      }
      lastWord = word;
      lastSignificant = 'w';
      i = j;
      continue;
    }
    if (c === '{') {
      // Inside a rule, `{` after `=` opens a hex string: skip to its `}` (hex strings hold no braces).
      if (depth > 0 && lastSignificant === '=') {
        const e = src.indexOf('}', i);
        i = e < 0 ? src.length : e + 1;
        lastSignificant = '}';
        continue;
      }
      depth++;
    } else if (c === '}') {
      depth = Math.max(0, depth - 1);
      if (depth === 0 && ruleStart >= 0) {
        rules.push({ name: ruleName || `rule at line ${lineAt(ruleStart)}`, line: lineAt(ruleStart), text: src.slice(ruleStart, i + 1) });
        ruleStart = -1;
        ruleName = '';
      }
    }
    if (!/\s/.test(c)) {
      lastSignificant = c;
      lastWord = '';
    }
    i++;
  }
  const imports = header.flatMap((h) => /^import\s+"([A-Za-z0-9_]+)"$/.exec(h)?.slice(1) ?? []);
  return { header: header.join('\n'), imports, rules };
}
