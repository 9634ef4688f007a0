import { readFileSync, statSync } from 'node:fs';
import { HUNT_MAX_FILE_BYTES, huntOptionsSchema, SandgateError, type HuntOptions } from '@sandgate/shared';

// `sandgate-console hunt create`: reading the file and turning the flags into the shared hunt options.

/** The hunt file, refused before it is read whole when it is over the size a hunt may have. */
export function readHuntFile(path: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SandgateError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_ACCESS_DENIED', `${path}: cannot read the hunt file (${code})`, {
      params: { path },
    });
  }
  if (size > HUNT_MAX_FILE_BYTES)
    throw new SandgateError(
      'CONSOLE_HUNT_FILE_TOO_LARGE',
      `${path}: ${size} bytes; a group hunt's file may have at most ${HUNT_MAX_FILE_BYTES}`,
      {
        params: { bytes: size, maxBytes: HUNT_MAX_FILE_BYTES },
      },
    );
  return readFileSync(path);
}

/** The hunt's options from the command line, validated by the shared schema (USAGE naming the option otherwise). */
export function huntOptionsOf(v: Record<string, string | boolean | string[] | undefined>): HuntOptions {
  const num = (k: string) => (v[k] === undefined ? undefined : Number(v[k]));
  const scope = v.scope as string[] | undefined;
  const raw = {
    quarantineOnMatch: v.quarantine === true,
    dryRun: v['dry-run'] === true,
    criticalAreasScan: v['critical-areas-scan'] === true,
    ...(scope ? { scope: scope.length === 1 && (scope[0] === 'critical' || scope[0] === 'system') ? scope[0] : scope } : {}),
    ...(v['run-mode'] !== undefined ? { runMode: v['run-mode'] } : {}),
    ...(v['canary-percent'] !== undefined ? { canaryPercent: num('canary-percent') } : {}),
    ...(v['max-workstations'] !== undefined ? { maxWorkstations: num('max-workstations') } : {}),
    ...(v['expires-hours'] !== undefined ? { expiresHours: num('expires-hours') } : {}),
    ...(v['never-quarantine'] ? { neverQuarantine: { paths: v['never-quarantine'] } } : {}),
  };
  const r = huntOptionsSchema.safeParse(raw);
  if (!r.success) {
    const flag: Record<string, string> = {
      scope: '--scope',
      runMode: '--run-mode',
      canaryPercent: '--canary-percent',
      maxWorkstations: '--max-workstations',
      expiresHours: '--expires-hours',
      neverQuarantine: '--never-quarantine',
    };
    throw new SandgateError('USAGE', r.error.issues.map((i) => `${flag[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '));
  }
  return r.data;
}
