import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SandgateError } from '@sandgate/shared';
import { releaseHeld } from '#native-host/hold/release-held.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-hold-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof SandgateError ? e.code : String(e)),
  );

describe('releasing a held download', () => {
  it('publishes the judged bytes under the final name and removes the held name', async () => {
    const body = Buffer.from('MZ judged clean');
    writeFileSync(join(dir, 'setup.exe.sandgate-hold'), body);
    const { path } = await releaseHeld(join(dir, 'setup.exe.sandgate-hold'), sha(body));
    expect(path).toBe(join(dir, 'setup.exe'));
    expect(readFileSync(path).equals(body)).toBe(true);
    expect(existsSync(join(dir, 'setup.exe.sandgate-hold'))).toBe(false);
  });

  it('never overwrites a file that took the name meanwhile: the next free name is used', async () => {
    const body = Buffer.from('MZ new');
    writeFileSync(join(dir, 'setup.exe'), 'someone else’s file');
    writeFileSync(join(dir, 'setup.exe.sandgate-hold'), body);
    const { path } = await releaseHeld(join(dir, 'setup.exe.sandgate-hold'), sha(body));
    expect(path).toBe(join(dir, 'setup (1).exe'));
    expect(readFileSync(join(dir, 'setup.exe'), 'utf8')).toBe('someone else’s file');
  });

  it('refuses content other than what was judged, and leaves it held', async () => {
    writeFileSync(join(dir, 'setup.exe.sandgate-hold'), 'swapped after the verdict');
    expect(await code(releaseHeld(join(dir, 'setup.exe.sandgate-hold'), sha(Buffer.from('judged'))))).toBe('ORIGINAL_CHANGED');
    expect(existsSync(join(dir, 'setup.exe'))).toBe(false);
    expect(existsSync(join(dir, 'setup.exe.sandgate-hold'))).toBe(true);
  });

  it('refuses a link in place of the held file, a path that is not a held name, and a relative path', async () => {
    const body = Buffer.from('secret');
    writeFileSync(join(dir, 'secret'), body);
    symlinkSync(join(dir, 'secret'), join(dir, 'x.exe.sandgate-hold'));
    expect(await code(releaseHeld(join(dir, 'x.exe.sandgate-hold'), sha(body)))).toBe('PATH_IS_LINK');
    expect(await code(releaseHeld(join(dir, 'secret'), sha(body)))).toBe('PATH_INVALID');
    expect(await code(releaseHeld('x.exe.sandgate-hold', sha(body)))).toBe('PATH_INVALID');
    expect(existsSync(join(dir, 'x.exe'))).toBe(false);
  });

  it('a file swapped in between the hash and the publication is taken back', async () => {
    const body = Buffer.from('judged');
    const held = join(dir, 'a.exe.sandgate-hold');
    writeFileSync(held, body);
    const result = code(
      releaseHeld(held, sha(body), {
        beforePublish: () => {
          rmSync(held);
          writeFileSync(held, 'evil');
        },
      }),
    );
    expect(await result).toBe('ORIGINAL_CHANGED');
    expect(existsSync(join(dir, 'a.exe'))).toBe(false);
  });
});

describe('the quarantine as the browser sees it', () => {
  it('an empty store lists nothing and reports the policy; a restore of an unknown item is refused with a code', async () => {
    const { listQuarantineForBrowser, restoreForBrowser } = await import('#native-host/actions/browser-quarantine.ts');
    const { QuarantineStore } = await import('#native-host/quarantine/quarantine-store.ts');
    const opts = { store: QuarantineStore.open(dir), usersMayRestore: async () => true };
    expect(await listQuarantineForBrowser(opts, { browser: 'chromium', limit: 50 })).toEqual({ items: [], usersMayRestore: true });
    expect(await code(restoreForBrowser(opts, 'b'.repeat(32)))).toBe('QUARANTINE_ITEM_NOT_FOUND');
  });
});
