import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveStoreKeys, fileKeySource } from '#native-host/quarantine/key-source.ts';

let home: string;
beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-key-')));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('quarantine key', () => {
  it('is made once and then read back unchanged, by any number of loaders', () => {
    const a = fileKeySource(home).load();
    const b = fileKeySource(home).load();
    expect(a).toHaveLength(32);
    expect(b.equals(a)).toBe(true);
    expect(statSync(join(home, 'keys', 'quarantine.key')).mode & 0o777).toBe(0o600);
  });

  it('is refused when other users could read it', () => {
    fileKeySource(home).load();
    chmodSync(join(home, 'keys', 'quarantine.key'), 0o644);
    expect(() => fileKeySource(home).load()).toThrow(/readable by other users/);
  });

  it('derives different keys for blobs and metadata', () => {
    const k = deriveStoreKeys(fileKeySource(home).load());
    expect(k.blob.equals(k.mac)).toBe(false);
  });
});
