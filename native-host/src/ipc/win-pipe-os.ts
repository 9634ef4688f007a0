import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import type * as Koffi from 'koffi';

/**
 * What Windows itself can say about the agent's named pipe, reached through koffi (as DPAPI is, docs/decisions.md),
 * loaded only on Windows and only when a pipe is opened or made. Node gives neither the pipe's HANDLE nor a way to set
 * its access list, so:
 *
 * - a client opens the pipe itself (`CreateFileW`, overlapped, as libuv does), asks who serves that very handle
 *   (`GetNamedPipeServerProcessId`), compares that process's user with its own (`OpenProcessToken`,
 *   `GetTokenInformation(TokenUser)`), and only then hands the handle to Node (`uv_open_osfhandle`, exported by
 *   node.exe, then `new net.Socket({ fd })`);
 * - the agent, once listening, opens its own pipe with `WRITE_DAC` and replaces the default access list with one that
 *   lets in this user only (`SetSecurityInfo`, a protected DACL). A pipe's security descriptor belongs to the pipe, so
 *   the instances libuv makes later carry it too.
 *
 * The agent cannot ask who the client is (`GetNamedPipeClientProcessId` needs the server end's HANDLE, which libuv keeps
 * to itself); the access list and the pipe proof (pipe-proof.ts) stand for that check.
 */
export interface WinPipeOs {
  /** Opens the pipe; null when nobody serves it. `serverPid` is the process that made the instance this handle reached. */
  open(path: string): Promise<{ socket: Socket; serverPid: number } | null>;
  /** The SID (S-1-5-…) of the user a process runs as; undefined when Windows will not say. */
  processUser(pid: number): string | undefined;
  /** The SID of the user this process runs as. */
  currentUser(): string;
  /** Replaces the pipe's access list with one entry: full control for this user. */
  restrictToCurrentUser(path: string): void;
}

const GENERIC_READ = 0x80000000;
const GENERIC_WRITE = 0x40000000;
const WRITE_DAC = 0x00040000;
const OPEN_EXISTING = 3;
const FILE_FLAG_OVERLAPPED = 0x40000000;
const ERROR_FILE_NOT_FOUND = 2;
const ERROR_PIPE_BUSY = 231;
const ERROR_ACCESS_DENIED = 5;
const TOKEN_QUERY = 0x8;
const TOKEN_USER = 1;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const SE_KERNEL_OBJECT = 6;
const DACL_SECURITY_INFORMATION = 0x4;
const PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000;
const SDDL_REVISION_1 = 1;
const INVALID_HANDLE = 0xffffffffffffffffn;

let loaded: WinPipeOs | undefined;

/** The binding, loaded once; throws when koffi or a system library cannot be loaded (the caller says what that leaves). */
export function winPipeOs(): WinPipeOs {
  loaded ??= load();
  return loaded;
}

function load(): WinPipeOs {
  if (process.platform !== 'win32') throw new Error(`named pipes are Windows' only, not ${process.platform}'s`);
  // koffi's own loader picks its prebuilt binary; createRequire keeps it out of the bundle.
  const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
  const k32 = koffi.load('kernel32.dll');
  const adv = koffi.load('advapi32.dll');
  const node = koffi.load(process.execPath);
  const ptrOut = koffi.out(koffi.pointer('void *'));
  const CreateFileW = k32.func('__stdcall', 'CreateFileW', 'void *', ['str16', 'uint32', 'uint32', 'void *', 'uint32', 'uint32', 'void *']);
  const GetNamedPipeServerProcessId = k32.func('__stdcall', 'GetNamedPipeServerProcessId', 'bool', [
    'void *',
    koffi.out(koffi.pointer('uint32')),
  ]);
  const GetLastError = k32.func('__stdcall', 'GetLastError', 'uint32', []);
  const CloseHandle = k32.func('__stdcall', 'CloseHandle', 'bool', ['void *']);
  const OpenProcess = k32.func('__stdcall', 'OpenProcess', 'void *', ['uint32', 'bool', 'uint32']);
  const GetCurrentProcess = k32.func('__stdcall', 'GetCurrentProcess', 'void *', []);
  const LocalFree = k32.func('__stdcall', 'LocalFree', 'void *', ['void *']);
  const OpenProcessToken = adv.func('__stdcall', 'OpenProcessToken', 'bool', ['void *', 'uint32', ptrOut]);
  const GetTokenInformation = adv.func('__stdcall', 'GetTokenInformation', 'bool', [
    'void *',
    'int',
    'void *',
    'uint32',
    koffi.out(koffi.pointer('uint32')),
  ]);
  const ConvertSidToStringSidW = adv.func('__stdcall', 'ConvertSidToStringSidW', 'bool', ['void *', ptrOut]);
  const ConvertStringSecurityDescriptorToSecurityDescriptorW = adv.func(
    '__stdcall',
    'ConvertStringSecurityDescriptorToSecurityDescriptorW',
    'bool',
    ['str16', 'uint32', ptrOut, 'void *'],
  );
  const GetSecurityDescriptorDacl = adv.func('__stdcall', 'GetSecurityDescriptorDacl', 'bool', [
    'void *',
    koffi.out(koffi.pointer('bool')),
    ptrOut,
    koffi.out(koffi.pointer('bool')),
  ]);
  const SetSecurityInfo = adv.func('__stdcall', 'SetSecurityInfo', 'uint32', [
    'void *',
    'int',
    'uint32',
    'void *',
    'void *',
    'void *',
    'void *',
  ]);
  const uvOpenOsfhandle = node.func('uv_open_osfhandle', 'int', ['void *']);

  const invalid = (h: unknown) => h === null || h === 0n || h === INVALID_HANDLE;

  const tokenUser = (proc: unknown): string | undefined => {
    const token: unknown[] = [null];
    if (!OpenProcessToken(proc, TOKEN_QUERY, token)) return undefined;
    try {
      const buf = Buffer.alloc(512);
      const len = [0];
      if (!GetTokenInformation(token[0], TOKEN_USER, buf, buf.length, len)) return undefined;
      // TOKEN_USER starts with SID_AND_ATTRIBUTES, whose first field is the PSID.
      const sid: unknown = koffi.decode(buf, 'void *');
      const str: unknown[] = [null];
      if (!ConvertSidToStringSidW(sid, str)) return undefined;
      try {
        return koffi.decode.string16(str[0]);
      } finally {
        LocalFree(str[0]);
      }
    } finally {
      CloseHandle(token[0]);
    }
  };

  const openHandle = (path: string, access: number, flags: number): unknown => {
    const h: unknown = CreateFileW(path, access, 0, null, OPEN_EXISTING, flags, null);
    if (!invalid(h)) return h;
    const code = Number(GetLastError());
    const err = new Error(`CreateFileW ${path}: Windows error ${code}`) as NodeJS.ErrnoException;
    err.code =
      code === ERROR_FILE_NOT_FOUND
        ? 'ENOENT'
        : code === ERROR_PIPE_BUSY
          ? 'EBUSY'
          : code === ERROR_ACCESS_DENIED
            ? 'EACCES'
            : `WIN${code}`;
    throw err;
  };

  const currentUser = tokenUser(GetCurrentProcess());
  if (!currentUser) throw new Error(`this process's user cannot be read (Windows error ${String(GetLastError())})`);

  return {
    async open(path) {
      for (let attempt = 0; ; attempt++) {
        let h: unknown;
        try {
          h = openHandle(path, GENERIC_READ | GENERIC_WRITE, FILE_FLAG_OVERLAPPED);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return null;
          // Every instance is taken for a moment (libuv makes the next one after each accept): try again shortly.
          if (code === 'EBUSY' && attempt < 50) {
            await new Promise((r) => setTimeout(r, 20));
            continue;
          }
          throw err;
        }
        const pid = [0];
        if (!GetNamedPipeServerProcessId(h, pid)) {
          const code = String(GetLastError());
          CloseHandle(h);
          throw new Error(`GetNamedPipeServerProcessId failed (Windows error ${code})`);
        }
        const fd: unknown = uvOpenOsfhandle(h);
        if (typeof fd !== 'number' || fd < 0) {
          CloseHandle(h);
          throw new Error('uv_open_osfhandle gave no file descriptor for the pipe');
        }
        // From here Node owns the handle: destroying the socket closes it.
        return { socket: new Socket({ fd, readable: true, writable: true }), serverPid: pid[0] ?? 0 };
      }
    },
    processUser(pid) {
      const proc: unknown = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid);
      if (invalid(proc)) return undefined;
      try {
        return tokenUser(proc);
      } finally {
        CloseHandle(proc);
      }
    },
    currentUser: () => currentUser,
    restrictToCurrentUser(path) {
      const sd: unknown[] = [null];
      if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(`D:P(A;;GA;;;${currentUser})`, SDDL_REVISION_1, sd, null))
        throw new Error(`the access list could not be built (Windows error ${String(GetLastError())})`);
      try {
        const present = [false];
        const dacl: unknown[] = [null];
        const defaulted = [false];
        if (!GetSecurityDescriptorDacl(sd[0], present, dacl, defaulted)) throw new Error('the access list could not be read back');
        // Opened as a client of our own pipe: the agent sees one connection that proves nothing and is dropped.
        const h = openHandle(path, GENERIC_READ | WRITE_DAC, 0);
        try {
          const rc = Number(
            SetSecurityInfo(
              h,
              SE_KERNEL_OBJECT,
              DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
              null,
              null,
              dacl[0],
              null,
            ),
          );
          if (rc !== 0) throw new Error(`SetSecurityInfo failed (Windows error ${rc})`);
        } finally {
          CloseHandle(h);
        }
      } finally {
        LocalFree(sd[0]);
      }
    },
  };
}
