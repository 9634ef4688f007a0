import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { writeFileAtomic } from '@sandgate/shared/durable-write';

export interface LabToken {
  /** The bearer token clients send (`Authorization: Bearer …`); never logged. */
  token: string;
  /** Where it is kept (mode 0600), the path the lab prints so an administrator can copy it into agent policies. */
  tokenPath: string;
  created: boolean;
}

/** 32 random bytes, base64url: 43 characters, no padding, safe in JSON and in a header. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32,256}$/;

/**
 * The lab's client token, `tlsDir/token`, beside its certificate: made on first start, reused afterwards. Refused
 * rather than used when it is a link, not a regular file, not ours, or readable by anyone else, as ssh does with a
 * private key: a token others can read authenticates them too. Rotate it by deleting the file and restarting.
 */
export async function ensureLabToken(tlsDir: string, log: Logger): Promise<LabToken> {
  const tokenPath = join(tlsDir, 'token');
  await fsp.mkdir(tlsDir, { recursive: true, mode: 0o700 });
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tokenPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw refuse(tokenPath, code === 'ELOOP' ? 'it is a symbolic link' : `it cannot be read (${code})`, err);
  }
  if (!fh) {
    const token = randomBytes(32).toString('base64url');
    await writeFileAtomic(tokenPath, token + '\n', 0o600);
    log.info('made a client token', { tokenPath });
    return { token, tokenPath, created: true };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw refuse(tokenPath, 'it is not a regular file');
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw refuse(tokenPath, 'it belongs to another user');
    if ((st.mode & 0o077) !== 0) throw refuse(tokenPath, `its mode is ${(st.mode & 0o777).toString(8)}; make it 600 (chmod 600)`);
    const token = (await fh.readFile('utf8')).trim();
    if (!TOKEN_PATTERN.test(token)) throw refuse(tokenPath, 'it does not hold a token (32–256 characters of A–Z, a–z, 0–9, - and _)');
    return { token, tokenPath, created: false };
  } finally {
    await fh.close();
  }
}

function refuse(path: string, why: string, cause?: unknown): SandgateError {
  return new SandgateError('LAB_CREDENTIAL_INVALID', `the lab's client token ${path} is not usable: ${why}`, {
    params: { key: path },
    ...(cause ? { cause } : {}),
  });
}
