/**
 * The `strings:` section of a YARA rule, read to build bytes that each string matches (test helper: it plants samples
 * for real rules). Text strings (escapes, `wide`, `ascii`, `nocase`, `fullword`, `xor`, `private`) and hex strings
 * (wildcards `??`, nibble wildcards `4?`, negation `~XX`, jumps `[n]`/`[n-m]`/`[-]`, alternatives `( A | B )`) are
 * filled deterministically: a wildcard becomes a fixed byte, a jump its shortest length, an alternative its first
 * choice. Regular expressions and `base64` strings are not generated: their rule is reported as not planted, by name.
 */

export type PlantString = { id: string; bytes: Buffer } | { id: string; unplantable: string };

/** Filler for hex wildcards and jumps: any byte works, one fixed byte keeps samples reproducible. */
const WILDCARD = 0x90;

export function parseStringsSection(section: string): PlantString[] {
  const out: PlantString[] = [];
  let i = 0;
  const s = section;
  const skipSpace = () => {
    for (;;) {
      while (i < s.length && /\s/.test(s[i]!)) i++;
      if (s.startsWith('//', i)) i = s.indexOf('\n', i) < 0 ? s.length : s.indexOf('\n', i);
      else if (s.startsWith('/*', i)) i = s.indexOf('*/', i) < 0 ? s.length : s.indexOf('*/', i) + 2;
      else return;
    }
  };
  for (;;) {
    skipSpace();
    if (i >= s.length) return out;
    const m = /^\$([A-Za-z0-9_]*)\s*=\s*/.exec(s.slice(i));
    if (!m) throw new Error(`strings section: expected "$name =" at ${JSON.stringify(s.slice(i, i + 40))}`);
    const id = `$${m[1]}`;
    i += m[0].length;
    const c = s[i];
    if (c === '"') {
      const end = textEnd(s, i);
      const raw = s.slice(i + 1, end);
      i = end + 1;
      const mods = modifiers();
      out.push(textString(id, raw, mods));
    } else if (c === '{') {
      const end = s.indexOf('}', i);
      const body = s.slice(i + 1, end);
      i = end + 1;
      modifiers();
      try {
        out.push({ id, bytes: hexBytes(body) });
      } catch (e) {
        out.push({ id, unplantable: `hex string not understood (${(e as Error).message})` });
      }
    } else if (c === '/') {
      let k = i + 1;
      while (k < s.length && s[k] !== '/') k += s[k] === '\\' ? 2 : 1;
      i = k + 1;
      while (/[is]/.test(s[i] ?? '')) i++;
      modifiers();
      out.push({ id, unplantable: 'regular expression string' });
    } else throw new Error(`strings section: unexpected ${JSON.stringify(s.slice(i, i + 20))}`);
  }

  function modifiers(): string[] {
    const mods: string[] = [];
    for (;;) {
      skipSpace();
      const w = /^(ascii|wide|nocase|fullword|private|xor|base64wide|base64)\b(\s*\([^)]*\))?/.exec(s.slice(i));
      if (!w) return mods;
      mods.push(w[0].replace(/\s+/g, ''));
      i += w[0].length;
    }
  }
}

function textEnd(s: string, start: number): number {
  let k = start + 1;
  while (k < s.length && s[k] !== '"') k += s[k] === '\\' ? 2 : 1;
  return k;
}

function textString(id: string, raw: string, mods: string[]): PlantString {
  if (mods.some((m) => m.startsWith('base64'))) return { id, unplantable: `${mods.find((m) => m.startsWith('base64'))} modifier` };
  const bytes: number[] = [];
  for (let k = 0; k < raw.length; k++) {
    const ch = raw[k]!;
    if (ch !== '\\') {
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
      continue;
    }
    const n = raw[++k];
    if (n === 'x') {
      bytes.push(parseInt(raw.slice(k + 1, k + 3), 16));
      k += 2;
    } else bytes.push({ n: 10, t: 9, r: 13 }[n as 'n' | 't' | 'r'] ?? n!.charCodeAt(0));
  }
  let b = Buffer.from(bytes);
  // `ascii wide` matches either form: the plain one is planted.
  if (mods.includes('wide') && !mods.includes('ascii')) b = Buffer.from(bytes.flatMap((x) => [x, 0]));
  const xor = mods.find((m) => m.startsWith('xor'));
  if (xor) {
    // `xor` alone (0–255) and a range starting at 0 include the plain string; otherwise use the first key.
    const key = Number(/\((\s*(?:0x)?[0-9a-f]+)/i.exec(xor)?.[1] ?? 0);
    b = Buffer.from(b.map((x) => x ^ key));
  }
  return { id, bytes: b };
}

/** Bytes a hex string matches: wildcards filled, the shortest jump, the first alternative. */
export function hexBytes(body: string): Buffer {
  const src = body.replace(/\/\/[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
  const tokens = src.match(/\[[^\]]*\]|[()|~]|[0-9A-Fa-f?]{2}|\S/g) ?? [];
  let p = 0;
  const seq = (): number[] => {
    const out: number[] = [];
    while (p < tokens.length && tokens[p] !== '|' && tokens[p] !== ')') {
      const t = tokens[p++]!;
      if (t === '(') {
        const first = seq();
        while (tokens[p] === '|') {
          p++;
          seq();
        }
        if (tokens[p++] !== ')') throw new Error('unclosed alternative');
        out.push(...first);
      } else if (t.startsWith('[')) {
        const min = /^\[\s*(\d*)/.exec(t)?.[1];
        for (let k = 0; k < Number(min || 0); k++) out.push(WILDCARD);
      } else if (t === '~') {
        out.push(notByte(tokens[p++] ?? ''));
      } else out.push(byte(t));
    }
    return out;
  };
  const bytes = seq();
  if (p !== tokens.length) throw new Error(`unexpected ${tokens[p]}`);
  return Buffer.from(bytes);
}

function byte(t: string): number {
  if (!/^[0-9A-Fa-f?]{2}$/.test(t)) throw new Error(`bad token ${t}`);
  const hi = t[0] === '?' ? WILDCARD >> 4 : parseInt(t[0]!, 16);
  const lo = t[1] === '?' ? WILDCARD & 15 : parseInt(t[1]!, 16);
  return (hi << 4) | lo;
}

/** A byte `~XX` matches: differs from XX in a nibble XX fixes. */
function notByte(t: string): number {
  const b = byte(t);
  return t[0] !== '?' ? b ^ 0x80 : b ^ 0x08;
}
