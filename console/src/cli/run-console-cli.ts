import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { SandgateError, toWireError } from '@sandgate/shared';
import { huntOptionsOf, readHuntFile } from './hunt-options.ts';
import { caText } from './ca-text.ts';
import { consoleDataDir } from '../server/data-dir.ts';
import { sendControlOp } from '../control/control-socket.ts';
import { openConsoleDb } from '../db/open-db.ts';
import { runOp, tokenCreatedSchema } from '../ops/console-ops.ts';
import { certificateFingerprint } from '../pki/fingerprint.ts';
import { enrollCommandLine } from '../server/enroll-address.ts';
import { ROLE_NAMES } from '../users/permissions.ts';

export interface ConsoleIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** The whole of stdin (for --password-stdin). */
  readStdin(): Promise<string>;
  /** Resolves on SIGINT/SIGTERM. */
  interrupted(): Promise<string>;
}

export const CONSOLE_HELP = `usage: sandgate-console COMMAND [options]

commands:
  serve [--port N] [--host H] [--admin-port N] [--admin-host H] [--name DNS|IP]... [--config FILE]
                                     run the console: agents' API (mutual TLS) on --port (default 8444)
                                     at --host (default 0.0.0.0, every interface), the web console on
                                     --admin-port (default 8445) at --admin-host (default 127.0.0.1: this
                                     machine only; another address is warned about); --config names the
                                     console's settings (default <data>/console.json when it exists):
                                     second witnesses for group tasks, the console's own sandbox, event limits
  user add NAME --role ROLE [--password-stdin]
                                     add a console user; roles: ${ROLE_NAMES.join(', ')}.
                                     Without --password-stdin a random password is made and printed once
  token create [--group G] [--ttl-hours H] [--url URL]
                                     print a one-time enrollment token (default: valid 24 hours), and the
                                     sandgate enroll command line that uses it, with the address the last
                                     started serve answers at (--url: another); G is created when missing
  agent revoke ID                    refuse a workstation from now on
  ca status                          the console CA, the new CA of a rotation under way, and how many
                                     workstations hold a certificate of each
  ca rotate                          make a new CA beside the one in service: each workstation renews its
                                     certificate from it at its next poll and pins both; no re-enrollment
  ca retire [--force]                the new CA takes the old one's place (server certificate included) and the
                                     old one's certificates are refused; refused while workstations are left on
                                     the old CA, unless --force (they must then enroll again)
  hunt create --group G --file F [--scope critical|system|PATH]... [--run-mode afterThreat|idle]
              [--quarantine] [--dry-run] [--critical-areas-scan] [--canary-percent P]
              [--max-workstations N] [--never-quarantine PATH]... [--expires-hours H]
                                     an operator's own hunt on every workstation of group G: F is OpenIOC
                                     1.0/1.1, a STIX 2.1 bundle or indicator, or YARA rules (told apart by
                                     content, 256 KiB at most), checked here and again on each workstation.
                                     Default: scope critical, at once (afterThreat), report only. With
                                     --quarantine it reports only until another operator approves it
                                     (web console, Approve); --dry-run says what it would quarantine

common options:
  --data DIR           the console's folder: CA, embedded database, control socket
                       (default $SANDGATE_CONSOLE_DATA or ~/.local/state/sandgate-console)
  --database-url URL   a PostgreSQL server instead of the embedded database (default $DATABASE_URL)
  --json               machine-readable output
  -h, --help

exit status: 0 success, 2 an error ("error[CODE]: message" on stderr).
`;

const OPTIONS = {
  data: { type: 'string' },
  'database-url': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  port: { type: 'string' },
  'admin-port': { type: 'string' },
  host: { type: 'string' },
  'admin-host': { type: 'string' },
  name: { type: 'string', multiple: true },
  role: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  group: { type: 'string' },
  'ttl-hours': { type: 'string' },
  config: { type: 'string' },
  url: { type: 'string' },
  file: { type: 'string' },
  scope: { type: 'string', multiple: true },
  'run-mode': { type: 'string' },
  quarantine: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'critical-areas-scan': { type: 'boolean' },
  'canary-percent': { type: 'string' },
  'max-workstations': { type: 'string' },
  'never-quarantine': { type: 'string', multiple: true },
  'expires-hours': { type: 'string' },
  force: { type: 'boolean' },
} as const;

/** A tuning variable in milliseconds (tests of slow clients); unset or not a positive number: the defaults. */
function msOf(v: string | undefined): number | undefined {
  const n = Number(v);
  return v && Number.isInteger(n) && n > 0 ? n : undefined;
}

function portOf(v: string | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new SandgateError('USAGE', `${what} must be a port number 0–65535`);
  return n;
}

/** Runs one command line; returns the exit status and never throws. */
export async function runConsoleCli(argv: string[], io: ConsoleIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new SandgateError('USAGE', (err as Error).message);
    }
    const v = parsed.values;
    const [cmd, sub, ...rest] = parsed.positionals;
    if (v.help || !cmd) {
      io.out(CONSOLE_HELP);
      return cmd || v.help ? 0 : 2;
    }
    const dataDir = consoleDataDir(v.data, io.env);
    const databaseUrl = v['database-url'] ?? (io.env.DATABASE_URL || undefined);
    const actor = `cli:${safeUser()}`;
    const print = (obj: Record<string, unknown>, text: string) => io.out(json ? JSON.stringify(obj) + '\n' : text);

    /** Through a running serve when there is one (PGlite allows one process), else straight on the database. */
    const op = async (name: string, args: Record<string, unknown>) => {
      const viaServe = await sendControlOp(dataDir, name, actor, args);
      if (viaServe) return viaServe;
      const db = await openConsoleDb({ databaseUrl, dataDir });
      try {
        return await runOp({ db, actor, dataDir }, name, args);
      } finally {
        await db.close();
      }
    };

    switch (cmd) {
      case 'serve': {
        if (sub) throw new SandgateError('USAGE', `unexpected arguments: ${[sub, ...rest].join(' ')}`);
        const { startConsole, isLoopbackHost } = await import('../server/start-console.ts');
        const { loadConsoleConfig } = await import('../config/load-console-config.ts');
        const config = loadConsoleConfig(v.config, dataDir);
        for (const w of config.warnings) io.err(`warning: ${w}\n`);
        const stop = io.interrupted();
        const c = await startConsole({
          dataDir,
          databaseUrl,
          config,
          port: portOf(v.port, 8444, '--port'),
          adminPort: portOf(v['admin-port'], 8445, '--admin-port'),
          ...(v.host ? { host: v.host } : {}),
          ...(v['admin-host'] ? { adminHost: v['admin-host'] } : {}),
          ...(v.name ? { serverNames: v.name } : {}),
          log: (line) => io.err(`${line}\n`),
          bodyTimeoutMs: msOf(io.env.SANDGATE_CONSOLE_BODY_TIMEOUT_MS),
          headersTimeoutMs: msOf(io.env.SANDGATE_CONSOLE_HEADERS_TIMEOUT_MS),
          caWatchMs: msOf(io.env.SANDGATE_CONSOLE_CA_WATCH_MS),
        });
        if (!isLoopbackHost(c.adminHost)) {
          io.err(
            `warning: the web console listens on ${c.adminHost}, not only on this machine: anyone who can reach that address can try to log in (--admin-host 127.0.0.1 keeps it local)\n`,
          );
        }
        const database = databaseUrl
          ? `PostgreSQL server (${redactUrl(databaseUrl)})`
          : `embedded PostgreSQL (PGlite) in ${join(dataDir, 'pgdata')}`;
        const sandboxes = config.sandbox?.servers.map((x) => x.url) ?? [];
        const witness = `${sandboxes.length ? `sandbox ${sandboxes.join(', ')}, ` : ''}${config.config.witness.agents} workstations, or an operator`;
        print(
          {
            agentUrl: c.agentUrl,
            enrollUrl: c.enrollUrl,
            adminUrl: c.adminUrl,
            adminHost: c.adminHost,
            caFingerprint: c.ca.fingerprint,
            dataDir,
            database: c.db.kind,
            pid: process.pid,
            witnessSandbox: sandboxes,
          },
          `sandgate-console is running.\n  agents (mutual TLS)  ${c.agentUrl}\n  workstations enroll ${c.enrollUrl}\n  web console          ${c.adminUrl}\n  CA fingerprint       ${c.ca.fingerprint}\n  database             ${database}\n  data                 ${dataDir}\n  second witness       ${witness}\n`,
        );
        const signal = await stop;
        io.err(`stopping (${signal})\n`);
        await c.close();
        return 0;
      }
      case 'user': {
        if (sub !== 'add' || rest.length !== 1)
          throw new SandgateError('USAGE', 'usage: sandgate-console user add NAME --role ROLE [--password-stdin]');
        if (!v.role) throw new SandgateError('USAGE', `--role is required (one of ${ROLE_NAMES.join(', ')})`);
        const password = v['password-stdin'] ? (await io.readStdin()).replace(/\r?\n$/, '') : undefined;
        const out = await op('user-add', { name: rest[0], role: v.role, ...(password !== undefined ? { password } : {}) });
        print(
          out,
          `added ${String(out.name)} (${String(out.role)})${out.password ? `\npassword (shown once): ${String(out.password)}` : ''}\n`,
        );
        return 0;
      }
      case 'token': {
        if (sub !== 'create' || rest.length)
          throw new SandgateError('USAGE', 'usage: sandgate-console token create [--group G] [--ttl-hours H] [--url URL]');
        if (v.url !== undefined && !isHttpsUrl(v.url))
          throw new SandgateError('USAGE', '--url must be an https:// URL (https://HOST:PORT)');
        const ttl = v['ttl-hours'] === undefined ? undefined : Number(v['ttl-hours']);
        if (ttl !== undefined && !(ttl > 0 && ttl <= 24 * 30))
          throw new SandgateError('USAGE', '--ttl-hours must be a number of hours up to 720');
        const out = tokenCreatedSchema.parse(
          await op('token-create', { ...(v.group ? { group: v.group } : {}), ...(ttl ? { ttlHours: ttl } : {}) }),
        );
        const caFile = join(dataDir, 'ca', 'ca-cert.pem');
        const fingerprint = existsSync(caFile) ? certificateFingerprint(readFileSync(caFile, 'utf8')) : undefined;
        const known = out.enrollUrls;
        const url = v.url ?? known[0];
        const enroll = enrollCommandLine(url, out.token, fingerprint);
        const others = v.url ? [] : known.slice(1);
        const where = url
          ? others.length
            ? `\n(other console processes on this database: ${others.join(', ')})`
            : ''
          : '\n(no console has been started on this database yet: put the address workstations reach it at, or pass --url)';
        print(
          { ...out, enrollUrl: url ?? null, caFingerprint: fingerprint ?? null },
          `token (works once, until ${out.expiresAt}${out.group ? `, group ${out.group}` : ''}):\n  ${out.token}\non the workstation:\n  ${enroll}${where}\n`,
        );
        return 0;
      }
      case 'agent': {
        if (sub !== 'revoke' || rest.length !== 1) throw new SandgateError('USAGE', 'usage: sandgate-console agent revoke ID');
        const out = await op('agent-revoke', { agentId: rest[0] });
        print(out, `revoked ${String(out.agentId)}\n`);
        return 0;
      }
      case 'ca': {
        if (!['status', 'rotate', 'retire'].includes(sub ?? '') || rest.length)
          throw new SandgateError('USAGE', 'usage: sandgate-console ca status | ca rotate | ca retire [--force]');
        const out = await op(`ca-${sub}`, sub === 'retire' ? { force: v.force === true } : {});
        print(out, caText(sub!, out));
        return 0;
      }
      case 'hunt': {
        if (sub !== 'create' || rest.length || !v.group || !v.file)
          throw new SandgateError('USAGE', 'usage: sandgate-console hunt create --group G --file F [options] (sandgate-console --help)');
        const file = readHuntFile(v.file);
        const out = await op('hunt-create', {
          group: v.group,
          fileName: basename(v.file),
          contentBase64: file.toString('base64'),
          options: huntOptionsOf(v),
        });
        const f = out.file as { format: string; sha256: string; indicators: number };
        print(
          out,
          `hunt ${String(out.id)} for group ${String(out.groupName)}: ${f.format} file ${f.sha256}, ${f.indicators} indicator(s) or rule(s), ${String(out.workstations)} workstation(s)${out.awaitingApproval ? '\nit quarantines nothing until another operator approves it (web console, Approve)' : ''}\n`,
        );
        return 0;
      }
      default:
        throw new SandgateError('USAGE', `unknown command "${cmd}" (sandgate-console --help lists them)`);
    }
  } catch (err) {
    const wire = toWireError(err);
    io.err(`error[${wire.code}]: ${wire.message}\n`);
    if (json) io.out(JSON.stringify({ error: { code: wire.code, message: wire.message } }) + '\n');
    return 2;
  }
}

function isHttpsUrl(s: string): boolean {
  try {
    return new URL(s).protocol === 'https:';
  } catch {
    return false;
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/** The password never reaches the terminal or a log. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
