import { readFileSync, statSync } from 'node:fs';
import type { FileFinding, Finding } from './collector.ts';
import { exeTarget, parseExeLink } from './process-identity.ts';
import type { RootFs } from './root-fs.ts';

const AREA = 'process';

/**
 * Running processes from /proc: the executable's content is read through /proc/PID/exe, which still opens when the
 * file was deleted and for memory-only images (memfd), so both are hashed like any other executable. Kernel threads
 * (no exe) are skipped; other users' processes that this user may not inspect are counted in one `unavailable`.
 */
export function* linuxProcesses(fs: RootFs): Generator<Finding> {
  let denied = 0;
  const pids = fs
    .list('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    const exeLink = fs.at(`/proc/${pid}/exe`);
    let target: string;
    try {
      target = exeTarget(fs, pid);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') denied++;
      continue; // ENOENT: a kernel thread, or the process ended
    }
    const exe = parseExeLink(target);
    const argv = (() => {
      try {
        return readFileSync(fs.at(`/proc/${pid}/cmdline`), 'latin1')
          .split('\0')
          .filter(Boolean);
      } catch {
        return [];
      }
    })();
    const name = (fs.readText(`/proc/${pid}/comm`) ?? '').trim() || exe.path.split('/').pop()!;
    const origin = `pid ${pid} (${name})${exe.memoryOnly ? ', memory-only image' : exe.deleted ? ', executable deleted' : ''}`;
    let st;
    let unreadable: string | undefined;
    try {
      st = statSync(exeLink);
    } catch (err) {
      unreadable = (err as NodeJS.ErrnoException).code ?? 'EIO';
    }
    const file: FileFinding | undefined = st?.isFile()
      ? { kind: 'file', area: AREA, path: exe.path, readPath: exeLink, stat: st, hashOptions: { followLink: true }, origin, pid }
      : undefined;
    yield {
      kind: 'observation',
      area: AREA,
      path: exe.path,
      origin,
      pid,
      observation: { document: 'ProcessItem', pid, name, path: exe.path, arguments: argv.join(' '), deleted: exe.deleted },
      ...(file ? { executable: file } : {}),
    };
    if (file) yield file;
    else if (unreadable)
      yield { kind: 'unavailable', area: AREA, what: `${exe.path} (${origin})`, reason: `image not readable (${unreadable})` };
  }
  if (denied) {
    const reason =
      process.getuid?.() === 0
        ? 'denied even to root (a hardened /proc or another namespace)'
        : 'not inspectable as this user (run as root to include them)';
    yield { kind: 'unavailable', area: AREA, what: `${denied} process(es)`, reason };
  }
}
