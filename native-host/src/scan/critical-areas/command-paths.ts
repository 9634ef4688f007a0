/** Folders an autostart command's bare program name is looked up in (systemd's compiled-in search path, then /bin). */
export const COMMAND_SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh']);

/** Splits a command line the way a shell would for plain words and quotes (no expansions). */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) cur += command[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      inWord = true;
    } else if (/\s/.test(c) || c === ';' || c === '&' || c === '|') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/**
 * The files a command line would run or read: its program (a bare name stays bare, for the caller to look up) and
 * every absolute path among its arguments (the script an interpreter runs, a library it loads). `sh -c '…'` is looked
 * into once. Redirection targets and environment assignments are left out.
 */
export function commandPaths(command: string, depth = 0): string[] {
  const words = splitCommand(command);
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) i++;
  const out: string[] = [];
  const program = words[i];
  if (!program) return out;
  out.push(program);
  for (let j = i + 1; j < words.length; j++) {
    const w = words[j]!;
    if (w.startsWith('/')) out.push(w);
    if (w === '-c' && depth === 0 && SHELLS.has(program.split('/').pop()!) && words[j + 1]) {
      out.push(...commandPaths(words[j + 1]!, 1));
      j++;
    }
  }
  return [...new Set(out.filter((p) => !/^[<>]/.test(p)))];
}
