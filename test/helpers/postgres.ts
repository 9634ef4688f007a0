import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './pid-alive.ts';

/**
 * A throw-away PostgreSQL cluster for one test file: Debian's `postgresql` binaries (initdb, pg_ctl), run as the
 * `postgres` OS user (the tests run as root, and PostgreSQL refuses to run as root), listening only on a unix socket in
 * a temp folder, trust authentication, no TCP port. `stop()` shuts it down and removes the folder.
 */
export interface TempPostgres {
  /** A `DATABASE_URL` for the cluster's `postgres` database over its unix socket. */
  url: string;
  /** A fresh database in the cluster, for a test that needs a clean schema. */
  createDatabase(name: string): string;
  stop(): void;
}

export type PostgresAvailability = { available: true } | { available: false; reason: string };

/** Where Debian puts the server binaries: /usr/lib/postgresql/<major>/bin, newest first. */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base)
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  for (const m of majors) if (existsSync(join(base, m, 'bin', 'initdb'))) return join(base, m, 'bin');
  return undefined;
}

/** Whether a cluster can be started here, and if not, why (so a test can name its skip). */
export function postgresAvailability(): PostgresAvailability {
  if (process.platform !== 'linux') return { available: false, reason: 'the PostgreSQL helper runs on Linux only' };
  if (!postgresBinDir())
    return { available: false, reason: "Debian's postgresql package is not installed (apt-get install -y postgresql)" };
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) return { available: false, reason: 'there is no postgres OS user to run the server as' };
  if (process.getuid?.() !== 0 && String(process.getuid?.()) !== id.stdout.trim()) {
    return { available: false, reason: 'the tests run neither as root nor as postgres, so they cannot start a cluster' };
  }
  return { available: true };
}

/** Runs a server binary as the postgres user (directly when we already are that user). */
function asPostgres(bin: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? 'runuser' : bin;
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/**
 * A throw-away cluster in a temp folder. Tests run it with fsync off (speed, nothing to keep); `durable` keeps
 * PostgreSQL's defaults, so every commit reaches the disk as on a real server (benchmarks).
 */
export function startTempPostgres(opts: { durable?: boolean } = {}): TempPostgres {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  sweepOrphans(bin);
  const dir = mkdtempSync(join(tmpdir(), 'sandgate-pg-'));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync']);
  // listen_addresses='' keeps it off the network; the socket lives in our temp folder, not /var/run/postgresql.
  const settings = `-c listen_addresses='' -c unix_socket_directories='${dir}' ${opts.durable ? '' : '-c fsync=off '}-c max_connections=200`;
  asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-o', settings, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  // A test process killed before its afterAll would leave the server running: stop it when this process exits, and
  // the next start sweeps up after processes that died without even that (sweepOrphans).
  const onExit = () => stop();
  process.once('exit', onExit);
  const urlFor = (db: string) => `postgresql://postgres@/${db}?host=${encodeURIComponent(dir)}`;
  let stopped = false;
  return {
    url: urlFor('postgres'),
    createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      execFileSync(
        join(bin, 'psql'),
        ['-h', dir, '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      return urlFor(name);
    },
    stop() {
      process.removeListener('exit', onExit);
      stop();
    },
  };

  function stop(): void {
    if (stopped) return;
    stopped = true;
    stopCluster(bin!, dir);
  }
}

const OWNER_FILE = 'owner.pid';

function stopCluster(bin: string, dir: string): void {
  try {
    if (existsSync(join(dir, 'data', 'postmaster.pid')))
      asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Clusters whose test process is gone (killed with SIGKILL, or by a timeout): stopped and removed. */
function sweepOrphans(bin: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('sandgate-pg-')) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not ours to judge (no owner recorded)
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    try {
      stopCluster(bin, dir);
    } catch {
      // Another test process may be sweeping the same one at the same moment.
    }
  }
}
