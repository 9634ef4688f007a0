import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dpapi } from '#native-host/quarantine/dpapi.ts';
import { keyScopeFrom } from '#native-host/quarantine/dpapi-key-source.ts';
import { platformKeySource } from '#native-host/quarantine/platform-key-source.ts';

// The DPAPI source itself runs on Windows' crypt32 only: test/windows/native-host/quarantine/dpapi-key.test.ts.
let home: string;
beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-key-')));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('the platform key source', () => {
  it('on Linux is the 0600 file holding the 32-byte key, as before DPAPI', () => {
    const key = platformKeySource(home, 'linux').load();
    expect(readFileSync(join(home, 'keys', 'quarantine.key')).equals(key)).toBe(true);
  });

  it('off Windows, DPAPI is reported unavailable by its code, not called', () => {
    if (process.platform === 'win32') return;
    expect(() => dpapi()).toThrow(expect.objectContaining({ code: 'QUARANTINE_KEY_PROTECTION_UNAVAILABLE' }));
  });

  it('wraps a new key in user scope unless SANDGATE_KEY_SCOPE=machine', () => {
    expect(keyScopeFrom({})).toBe('user');
    expect(keyScopeFrom({ SANDGATE_KEY_SCOPE: 'machine' })).toBe('machine');
    expect(keyScopeFrom({ SANDGATE_KEY_SCOPE: 'Machine ' })).toBe('user');
  });
});
