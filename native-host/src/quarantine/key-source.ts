import { closeSync, constants, fstatSync, linkSync, openSync, readSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensurePrivateDir } from './private-dir.ts';

/**
 * Where the per-installation quarantine key comes from. The key never leaves the agent's account; every item is
 * encrypted and authenticated under keys derived from it.
 *
 * Sources: this 0600 file (Linux, macOS); on Windows the same path holding the key wrapped by DPAPI
 * (dpapi-key-source.ts). Designed only: on macOS, the 32 bytes as a generic password in the System (or login)
 * Keychain, read with SecItemCopyMatching.
 */
export interface KeySource {
  /** Returns the 32-byte store key, creating it on first use. */
  load(): Buffer;
}

export const STORE_KEY_BYTES = 32;

/**
 * Writes a new key file's bytes under a temporary name and publishes it with link(), which fails if another process
 * won the race: nobody ever reads a half-written key, and the first key made is the one every process uses.
 */
export function publishKeyFile(file: string, bytes: Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** `$SANDGATE_HOME/keys/quarantine.key`: 32 random bytes, folder 0700, file 0600, created exactly once. */
export function fileKeySource(home: string): KeySource {
  const dir = join(home, 'keys');
  const file = join(dir, 'quarantine.key');
  return {
    load() {
      ensurePrivateDir(dir);
      const existing = readKeyFile(file);
      if (existing) return existing;
      publishKeyFile(file, randomBytes(STORE_KEY_BYTES));
      const key = readKeyFile(file);
      if (!key) throw new Error('the quarantine key could not be created');
      return key;
    },
  };
}

function readKeyFile(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size !== STORE_KEY_BYTES) throw new Error(`${file} is not a ${STORE_KEY_BYTES}-byte key file`);
    if (process.getuid && st.uid !== process.getuid()) throw new Error(`${file} belongs to another user`);
    if ((st.mode & 0o077) !== 0) throw new Error(`${file} is readable by other users; refusing to use it`);
    const key = Buffer.alloc(STORE_KEY_BYTES);
    if (readSync(fd, key, 0, STORE_KEY_BYTES, 0) !== STORE_KEY_BYTES) throw new Error(`${file} is truncated`);
    return key;
  } finally {
    closeSync(fd);
  }
}

export interface StoreKeys {
  /** AES-256-GCM key for blobs. */
  blob: Buffer;
  /** HMAC-SHA256 key for metadata. */
  mac: Buffer;
}

/** Separate keys per purpose, so a blob key can never be used to forge metadata or the other way round. */
export function deriveStoreKeys(storeKey: Buffer): StoreKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', storeKey, Buffer.alloc(0), info, 32));
  return { blob: derive('sandgate quarantine blob v1'), mac: derive('sandgate quarantine metadata v1') };
}
