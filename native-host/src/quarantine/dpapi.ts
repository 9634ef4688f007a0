import { createRequire } from 'node:module';
import { SandgateError } from '@sandgate/shared';
import type * as Koffi from 'koffi';

/**
 * Windows' Data Protection API (crypt32's `CryptProtectData` / `CryptUnprotectData`), reached through koffi, a
 * foreign-function interface whose npm packages carry prebuilt binaries (docs/decisions.md says why koffi). Loaded
 * only when a Windows key source first needs it: on Linux and macOS this module loads nothing.
 *
 * `user` scope: only this Windows account (its DPAPI master key) can unwrap the blob. `machine` scope
 * (`CRYPTPROTECT_LOCAL_MACHINE`): any account on this machine can, which is what a service running under an account
 * without a loaded profile needs. Either way a blob copied to another machine does not unwrap.
 */
export type DpapiScope = 'user' | 'machine';

export interface Dpapi {
  protect(data: Buffer, scope: DpapiScope): Buffer;
  /** The data, or undefined when Windows refuses the blob (another user or machine, or tampered with). */
  unprotect(blob: Buffer): Buffer | undefined;
}

const CRYPTPROTECT_UI_FORBIDDEN = 0x1;
const CRYPTPROTECT_LOCAL_MACHINE = 0x4;
const DESCRIPTION = 'Sandgate quarantine key';

let loaded: Dpapi | undefined;

/** The binding, loaded once; QUARANTINE_KEY_PROTECTION_UNAVAILABLE when koffi or crypt32 cannot be loaded. */
export function dpapi(): Dpapi {
  loaded ??= load();
  return loaded;
}

function load(): Dpapi {
  if (process.platform !== 'win32') throw unavailable(new Error(`DPAPI exists on Windows only, not on ${process.platform}`));
  let koffi: typeof Koffi;
  let crypt32: Koffi.LibraryHandle;
  let kernel32: Koffi.LibraryHandle;
  try {
    // koffi's own loader picks its prebuilt binary (@koromix/koffi-win32-x64); createRequire keeps it out of the bundle.
    koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    crypt32 = koffi.load('crypt32.dll');
    kernel32 = koffi.load('kernel32.dll');
  } catch (err) {
    throw unavailable(err);
  }
  // DATA_BLOB { DWORD cbData; BYTE *pbData; }; the output blob is LocalAlloc'ed by crypt32 and freed with LocalFree.
  const blobType = koffi.struct('SANDGATE_DATA_BLOB', { cbData: 'uint32', pbData: 'void *' });
  const protectFn = crypt32.func('__stdcall', 'CryptProtectData', 'bool', [
    koffi.pointer(blobType),
    'str16',
    'void *',
    'void *',
    'void *',
    'uint32',
    koffi.out(koffi.pointer(blobType)),
  ]);
  const unprotectFn = crypt32.func('__stdcall', 'CryptUnprotectData', 'bool', [
    koffi.pointer(blobType),
    'void *',
    'void *',
    'void *',
    'void *',
    'uint32',
    koffi.out(koffi.pointer(blobType)),
  ]);
  const localFree = kernel32.func('__stdcall', 'LocalFree', 'void *', ['void *']);
  const getLastError = kernel32.func('__stdcall', 'GetLastError', 'uint32', []);

  /** Copies crypt32's output into a Node buffer, wipes and frees crypt32's copy. */
  const take = (out: { cbData?: unknown; pbData?: unknown }): Buffer => {
    const size = typeof out.cbData === 'number' ? out.cbData : 0;
    const bytes: unknown = koffi.decode(out.pbData, 'uint8', size);
    if (!Array.isArray(bytes) && !(bytes instanceof Uint8Array)) throw new Error('koffi returned no bytes for a DATA_BLOB');
    const copy = Buffer.from(bytes as ArrayLike<number>);
    koffi.encode(out.pbData, 'uint8', new Array<number>(size).fill(0), size);
    localFree(out.pbData);
    return copy;
  };

  return {
    protect(data, scope) {
      const out: { cbData?: unknown; pbData?: unknown } = {};
      const flags = CRYPTPROTECT_UI_FORBIDDEN | (scope === 'machine' ? CRYPTPROTECT_LOCAL_MACHINE : 0);
      const ok: unknown = protectFn({ cbData: data.length, pbData: data }, DESCRIPTION, null, null, null, flags, out);
      if (ok !== true) throw unavailable(new Error(`CryptProtectData failed (Windows error ${String(getLastError())})`));
      return take(out);
    },
    unprotect(blob) {
      const out: { cbData?: unknown; pbData?: unknown } = {};
      const ok: unknown = unprotectFn({ cbData: blob.length, pbData: blob }, null, null, null, null, CRYPTPROTECT_UI_FORBIDDEN, out);
      return ok === true ? take(out) : undefined;
    },
  };
}

function unavailable(cause: unknown): SandgateError {
  return new SandgateError(
    'QUARANTINE_KEY_PROTECTION_UNAVAILABLE',
    `DPAPI could not be used: ${cause instanceof Error ? cause.message : String(cause)}`,
    { cause },
  );
}
