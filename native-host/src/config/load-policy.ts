import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { dirname, join, resolve, win32 } from 'node:path';
import { createRequire } from 'node:module';
import { SandgateError, policySchema, type Policy } from '@sandgate/shared';

// node-forge (42 modules) is loaded only for a policy with a PKCS#12 client certificate: every command reads the
// policy, and the others should not pay for it at start-up.
const requireForge = (): typeof import('node-forge') => createRequire(import.meta.url)('node-forge');

/**
 * The system-wide policy for this OS, looked at last: where administrators (and their configuration-management tools)
 * put one policy for every user of the machine.
 */
export function systemPolicyPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return win32.join(env.ProgramData ?? 'C:\\ProgramData', 'Sandgate', 'policy.json');
  if (platform === 'darwin') return '/Library/Application Support/Sandgate/policy.json';
  return '/etc/sandgate/policy.json';
}

/** The system-wide policy of the OS we run on. */
export const SYSTEM_POLICY_PATH = systemPolicyPath();

export type ClientCertificate = { cert: string; key: string; passphrase?: string } | { pfx: Buffer; passphrase?: string };

export interface LoadedPolicy {
  /** Parsed with defaults filled, deep-frozen. */
  policy: Policy;
  /** Absolute path of the file it came from. */
  path: string;
  /** PEM text of the certificate or CA every server must present. */
  serverCa: string;
  clientCert?: ClientCertificate;
}

export interface PolicyIssue {
  key: string;
  message: string;
}

/**
 * Where the policy comes from, first match wins: `--policy`, `$SANDGATE_POLICY`, `$SANDGATE_HOME/policy.json`, then
 * the system-wide file ({@link systemPolicyPath}: `/etc/sandgate/policy.json`, on macOS
 * `/Library/Application Support/Sandgate/policy.json`, on Windows `%ProgramData%\Sandgate\policy.json`).
 * An explicitly named file that does not exist is an error, not a reason to fall back:
 * silently using another policy than the one asked for would be worse than failing.
 */
export function findPolicyFile(opts: { explicit?: string; home: string; env?: NodeJS.ProcessEnv; systemPath?: string }): string {
  const env = opts.env ?? process.env;
  const named = opts.explicit ?? env.SANDGATE_POLICY;
  if (named) {
    const p = resolve(named);
    if (existsSync(p)) return p;
    const from = opts.explicit ? '--policy' : '$SANDGATE_POLICY';
    throw new SandgateError('POLICY_NOT_FOUND', `The policy file named by ${from} does not exist: ${p}`, { params: { looked: [p] } });
  }
  const looked = [join(opts.home, 'policy.json'), opts.systemPath ?? systemPolicyPath(process.platform, env)];
  for (const p of looked) if (existsSync(p)) return p;
  throw new SandgateError('POLICY_NOT_FOUND', `No policy file: looked at ${looked.join(' and ')} (use --policy FILE or $SANDGATE_POLICY)`, {
    params: { looked },
  });
}

export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new SandgateError('POLICY_NOT_FOUND', `The policy file does not exist: ${abs}`, { params: { looked: [abs] } });
    throw new SandgateError('POLICY_INVALID', `The policy file could not be read (${code ?? 'error'}): ${abs}`, {
      params: { path: abs, issues: [{ key: '', message: `unreadable (${code ?? 'error'})` }] },
    });
  }
  const policy = parsePolicyText(text, abs);
  const base = dirname(abs);
  const serverCa = readServerCertificate(policy.sandbox.serverCertificate, base);
  const clientCert = policy.sandbox.clientCertificate ? readClientCertificate(policy.sandbox.clientCertificate, base) : undefined;
  return { policy: deepFreeze(policy), path: abs, serverCa, ...(clientCert ? { clientCert } : {}) };
}

/** Parses and validates policy JSON; exported so `policy check` can report on text that is not a file yet. */
export function parsePolicyText(text: string, source = 'policy'): Policy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw invalid(source, [{ key: '', message: `not valid JSON: ${reason}` }]);
  }
  const r = policySchema.safeParse(raw);
  if (!r.success) {
    throw invalid(
      source,
      r.error.issues.map((i) => ({ key: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return r.data;
}

function invalid(source: string, issues: PolicyIssue[]): SandgateError {
  const lines = issues.map((i) => `${i.key || '(top level)'}: ${i.message}`);
  return new SandgateError('POLICY_INVALID', `${source}: ${lines.join('; ')}`, { params: { path: source, issues } });
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readServerCertificate(value: string, base: string): string {
  const key = 'sandbox.serverCertificate';
  const text = value.includes('-----BEGIN') ? value : readText(resolve(base, value), key);
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw certInvalid(key, 'contains no PEM certificate');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw certInvalid(key, `holds a certificate that cannot be parsed (${(err as Error).message})`);
    }
  }
  return blocks.join('\n') + '\n';
}

function readClientCertificate(cc: NonNullable<Policy['sandbox']['clientCertificate']>, base: string): ClientCertificate {
  const passphrase = cc.passphrase;
  if ('pfx' in cc) {
    const key = 'sandbox.clientCertificate.pfx';
    const pfx = readBytes(resolve(base, cc.pfx), key);
    try {
      // Parsing here turns a wrong passphrase into a clear policy error at start-up rather than a TLS failure later.
      const forge = requireForge();
      const asn1 = forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary')));
      forge.pkcs12.pkcs12FromAsn1(asn1, passphrase ?? '');
    } catch (err) {
      throw certInvalid(key, `cannot be opened (wrong passphrase or not PKCS#12: ${(err as Error).message})`);
    }
    return passphrase === undefined ? { pfx } : { pfx, passphrase };
  }
  const certText = readText(resolve(base, cc.cert), 'sandbox.clientCertificate.cert');
  const keyText = readText(resolve(base, cc.key), 'sandbox.clientCertificate.key');
  try {
    new X509Certificate(certText);
  } catch {
    throw certInvalid('sandbox.clientCertificate.cert', 'is not a PEM certificate');
  }
  try {
    createPrivateKey(passphrase === undefined ? { key: keyText } : { key: keyText, passphrase });
  } catch {
    throw certInvalid('sandbox.clientCertificate.key', 'is not a PEM private key (or the passphrase is wrong)');
  }
  return passphrase === undefined ? { cert: certText, key: keyText } : { cert: certText, key: keyText, passphrase };
}

function readBytes(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw certInvalid(key, `cannot be read from ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function readText(path: string, key: string): string {
  return readBytes(path, key).toString('utf8');
}

function certInvalid(key: string, reason: string): SandgateError {
  return new SandgateError('CERTIFICATE_INVALID', `${key} ${reason}`, { params: { key } });
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
