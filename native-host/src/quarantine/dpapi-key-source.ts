import { mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { dpapi, type Dpapi, type DpapiScope } from './dpapi.ts';
import { publishKeyFile, STORE_KEY_BYTES, type KeySource } from './key-source.ts';

/**
 * The Windows key source: `$SANDGATE_HOME\keys\quarantine.key` holds the 32-byte store key wrapped by DPAPI, never
 * the key itself. The file is a magic line, a scope byte and DPAPI's blob; only Windows, for the account (or, in
 * machine scope, the machine) that wrapped it, gives the key back. A file copied to another user or machine, or
 * changed by a byte, gives QUARANTINE_KEY_UNUSABLE (and nothing is quarantined or read), never a crash.
 *
 * Mode bits and owners are not checked here as on Linux: Windows reports neither through Node, and DPAPI is the
 * protection.
 */
export const DPAPI_KEY_MAGIC = Buffer.from('SANDGATE-DPAPI-KEY-1\n', 'latin1');
const SCOPE_BYTE: Record<DpapiScope, number> = { user: 0x55, machine: 0x4d };

/** Which DPAPI scope a new key is wrapped in: `SANDGATE_KEY_SCOPE=machine` for an agent run as a service, else user. */
export function keyScopeFrom(env: NodeJS.ProcessEnv = process.env): DpapiScope {
  return env.SANDGATE_KEY_SCOPE === 'machine' ? 'machine' : 'user';
}

export function dpapiKeySource(home: string, opts: { scope?: DpapiScope; api?: () => Dpapi } = {}): KeySource {
  const dir = join(home, 'keys');
  const file = join(dir, 'quarantine.key');
  const scope = opts.scope ?? keyScopeFrom();
  const api = opts.api ?? dpapi;
  return {
    load() {
      mkdirSync(dir, { recursive: true });
      const existing = readWrapped(file, api);
      if (existing) return existing;
      const key = randomBytes(STORE_KEY_BYTES);
      const wrapped = Buffer.concat([DPAPI_KEY_MAGIC, Buffer.from([SCOPE_BYTE[scope]]), api().protect(key, scope)]);
      key.fill(0);
      publishKeyFile(file, wrapped);
      const loaded = readWrapped(file, api);
      if (!loaded) throw new Error('the quarantine key could not be created');
      return loaded;
    },
  };
}

/** The unwrapped key, undefined when there is no key file yet; QUARANTINE_KEY_UNUSABLE when Windows refuses it. */
function readWrapped(file: string, api: () => Dpapi): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const unusable = (why: string) => new SandgateError('QUARANTINE_KEY_UNUSABLE', `${file}: ${why}`, { params: { file } });
  const head = DPAPI_KEY_MAGIC.length;
  if (bytes.length <= head + 1 || !bytes.subarray(0, head).equals(DPAPI_KEY_MAGIC)) throw unusable('not a DPAPI-wrapped Sandgate key file');
  const scopeByte = bytes[head];
  if (scopeByte !== SCOPE_BYTE.user && scopeByte !== SCOPE_BYTE.machine) throw unusable('unknown key scope');
  const key = api().unprotect(bytes.subarray(head + 1));
  if (!key) throw unusable('Windows refused to unwrap it (made by another user or machine, or changed since)');
  if (key.length !== STORE_KEY_BYTES) {
    key.fill(0);
    throw unusable(`it unwraps to ${key.length} bytes, not ${STORE_KEY_BYTES}`);
  }
  return key;
}
