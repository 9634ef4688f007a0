import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { dirname, join, resolve } from 'node:path';
import { consoleConfigSchema, SandgateError, type ConsoleConfig, type ConsoleSandboxConfig } from '@sandgate/shared';

/** The sandbox the console looks hashes up on, with its certificates read. Secrets never leave this object. */
export interface LoadedSandbox {
  servers: ConsoleSandboxConfig['servers'];
  /** PEM of the certificate (or CA) the servers must present. */
  ca: string;
  clientCert?: { pfx: Buffer; passphrase?: string } | { cert: string; key: string; passphrase?: string };
  timeoutMs: number;
  retryEveryMs: number;
}

export interface LoadedConsoleConfig {
  config: ConsoleConfig;
  /** Where it was read from (undefined: no file, every default). */
  path?: string;
  sandbox?: LoadedSandbox;
  /** Said once at start (a config file others can read). */
  warnings: string[];
}

/** `<data>/console.json`: read when `--config` is not given and it exists. */
export const DEFAULT_CONFIG_NAME = 'console.json';

const invalid = (where: string, message: string) =>
  new SandgateError('CONSOLE_CONFIG_INVALID', `${where}: ${message}`, { params: { path: where } });

/**
 * Reads the console's configuration: `explicit` (`--config`), else `<dataDir>/console.json` when it exists, else the
 * defaults. Certificates are read and checked now, so a wrong path or passphrase stops `serve` at start with
 * CONSOLE_CONFIG_INVALID rather than making every look-up fail later.
 */
export function loadConsoleConfig(explicit: string | undefined, dataDir: string): LoadedConsoleConfig {
  const path = explicit ? resolve(explicit) : join(dataDir, DEFAULT_CONFIG_NAME);
  if (!explicit && !existsSync(path)) return { config: consoleConfigSchema.parse({}), warnings: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw invalid(path, `cannot be read as JSON (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const r = consoleConfigSchema.safeParse(raw);
  if (!r.success) throw invalid(path, r.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; '));
  const warnings: string[] = [];
  if (statSync(path).mode & 0o077)
    warnings.push(`${path} can be read by other users; it may hold a sandbox token or passphrase (chmod 600 it)`);
  const s = r.data.witness.sandbox;
  const base = dirname(path);
  const sandbox = s
    ? {
        servers: s.servers,
        ca: readCa(s.serverCertificate, base, path),
        ...clientCert(s, base, path),
        timeoutMs: s.timeoutMs,
        retryEveryMs: s.retryEveryMs,
      }
    : undefined;
  return { config: r.data, path, ...(sandbox ? { sandbox } : {}), warnings };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readText(file: string, key: string, where: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(where, `${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function readCa(value: string, base: string, where: string): string {
  const key = 'witness.sandbox.serverCertificate';
  const text = value.includes('-----BEGIN') ? value : readText(resolve(base, value), key, where);
  const blocks = text.match(PEM_CERT) ?? [];
  if (!blocks.length) throw invalid(where, `${key} holds no PEM certificate`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw invalid(where, `${key} holds a certificate that cannot be parsed (${(err as Error).message})`);
    }
  }
  return blocks.join('\n') + '\n';
}

function clientCert(s: ConsoleSandboxConfig, base: string, where: string): Pick<LoadedSandbox, 'clientCert'> {
  const cc = s.clientCertificate;
  if (!cc) return {};
  const pass = cc.passphrase === undefined ? {} : { passphrase: cc.passphrase };
  if ('pfx' in cc) {
    let pfx: Buffer;
    try {
      pfx = readFileSync(resolve(base, cc.pfx));
    } catch (err) {
      throw invalid(where, `witness.sandbox.clientCertificate.pfx: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      // Opening it now turns a wrong passphrase into an error at start rather than a TLS failure at every look-up.
      createSecureContext({ pfx, ...pass });
    } catch (err) {
      throw invalid(
        where,
        `witness.sandbox.clientCertificate.pfx cannot be opened (wrong passphrase or not PKCS#12: ${(err as Error).message})`,
      );
    }
    return { clientCert: { pfx, ...pass } };
  }
  const cert = readText(resolve(base, cc.cert), 'witness.sandbox.clientCertificate.cert', where);
  const key = readText(resolve(base, cc.key), 'witness.sandbox.clientCertificate.key', where);
  try {
    new X509Certificate(cert);
    createPrivateKey({ key, ...pass });
  } catch {
    throw invalid(where, 'witness.sandbox.clientCertificate: not a PEM certificate and private key (or the passphrase is wrong)');
  }
  return { clientCert: { cert, key, ...pass } };
}
