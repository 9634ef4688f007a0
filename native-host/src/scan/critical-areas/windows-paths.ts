/** `%SystemRoot%`, `\SystemRoot\`, `\??\` and driver-relative paths, made absolute (`C:\…`); `env` keys in lower case. */
export function expandWindowsPath(p: string, env: Record<string, string> = {}): string {
  const vars: Record<string, string> = {
    systemroot: 'C:\\Windows',
    windir: 'C:\\Windows',
    systemdrive: 'C:',
    programfiles: 'C:\\Program Files',
    programdata: 'C:\\ProgramData',
    ...env,
  };
  let s = p.replace(/%([^%]+)%/g, (m, v: string) => vars[v.toLowerCase()] ?? m);
  s = s.replace(/^\\\?\?\\/, '').replace(/^\\SystemRoot\\/i, 'C:\\Windows\\');
  if (/^system32\\/i.test(s)) s = `C:\\Windows\\${s}`;
  return s;
}

/** The files a Windows command line names: its program (quoted or not) and every `X:\…` path among the arguments. */
export function windowsCommandPaths(command: string, env: Record<string, string> = {}): string[] {
  const c = command.trim();
  const out: string[] = [];
  let rest: string;
  if (c.startsWith('"')) {
    const end = c.indexOf('"', 1);
    out.push(c.slice(1, end < 0 ? undefined : end));
    rest = end < 0 ? '' : c.slice(end + 1);
  } else {
    // Unquoted: the shortest prefix ending in an executable extension, else the first word (as CreateProcess tries).
    const m = /^(.+?\.(exe|com|bat|cmd|scr|dll|sys|ps1|vbs|js))(\s|$|,)/i.exec(c);
    const first = m ? m[1]! : c.split(/\s+/)[0]!;
    out.push(first);
    rest = c.slice(first.length);
  }
  for (const m of rest.matchAll(/"([A-Za-z]:\\[^"]+)"|([A-Za-z]:\\[^\s,"]+)/g)) out.push(m[1] ?? m[2]!);
  return out.map((p) => expandWindowsPath(p, env));
}
