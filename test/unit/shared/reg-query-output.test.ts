import { describe, expect, it } from 'vitest';
import { parseRegQuery, shortHive, singleTextValue } from '@sandgate/shared/reg-query';

// What reg.exe prints (CRLF; four spaces between name, type and data; a name may hold spaces).
const REG = [
  '',
  'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\EvilSvc',
  '    DisplayName    REG_SZ    Evil  Service',
  '    ImagePath    REG_EXPAND_SZ    %SystemRoot%\\System32\\evil.exe -k x',
  '    Start    REG_DWORD    0x2',
  '    Big    REG_QWORD    0x100000000',
  '    DependOnService    REG_MULTI_SZ    RpcSs\\0Tcpip',
  '    Empty List    REG_MULTI_SZ    ',
  '    Blob    REG_BINARY    DEADBEEF',
  '    (Default)    REG_SZ    (value not set)',
  '',
  'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\EvilSvc\\Parameters',
  '    ServiceDll    REG_EXPAND_SZ    C:\\Windows\\System32\\evil.dll',
  '',
  'HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
  '    My App    REG_SZ    "C:\\Program Files\\My App\\app.exe" /min',
  '    (Default)    REG_SZ    C:\\x.exe',
  '',
].join('\r\n');

describe('reg query output', () => {
  it('keeps text, numbers and lists by type, drops binary values and an unset default, and shortens the hives', () => {
    expect(parseRegQuery(REG)).toEqual({
      'HKLM\\SYSTEM\\CurrentControlSet\\Services\\EvilSvc': {
        DisplayName: 'Evil  Service',
        ImagePath: '%SystemRoot%\\System32\\evil.exe -k x',
        Start: 2,
        Big: 4294967296,
        DependOnService: ['RpcSs', 'Tcpip'],
        'Empty List': [],
      },
      'HKLM\\SYSTEM\\CurrentControlSet\\Services\\EvilSvc\\Parameters': { ServiceDll: 'C:\\Windows\\System32\\evil.dll' },
      'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run': {
        'My App': '"C:\\Program Files\\My App\\app.exe" /min',
        '(Default)': 'C:\\x.exe',
      },
    });
  });

  it('names hives short and leaves short names alone', () => {
    expect(shortHive('HKEY_USERS\\S-1-5-18\\Software')).toBe('HKU\\S-1-5-18\\Software');
    expect(shortHive('HKCU\\Software')).toBe('HKCU\\Software');
  });

  it('gives the one value of `reg query KEY /ve` or `/v NAME`, whatever the default is called in this language', () => {
    const key = 'HKEY_CURRENT_USER\\Software\\Google\\Chrome\\NativeMessagingHosts\\org.sandgate.agent';
    expect(singleTextValue(`\r\n${key}\r\n    (Default)    REG_SZ    C:\\m.json\r\n\r\n`)).toBe('C:\\m.json');
    expect(singleTextValue(`\r\n${key}\r\n    (Standard)    REG_SZ    C:\\m.json\r\n\r\n`)).toBe('C:\\m.json');
    expect(singleTextValue(`\r\n${key}\r\n    (Default)    REG_SZ    (value not set)\r\n`)).toBeUndefined();
    expect(singleTextValue(`\r\n${key}\r\n    (Default)    REG_DWORD    0x1\r\n`)).toBeUndefined();
    expect(singleTextValue('')).toBeUndefined();
  });
});
