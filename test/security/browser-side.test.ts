import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, HELD_SUFFIX } from '@sandgate/shared';
import { spawnHost, type HostProcess } from '#test-helpers/spawn-host.ts';
import { labKnows, pollFor, startStack, type Stack, type StackOptions } from '#test-helpers/stack.ts';

// Issue 14, "the browser side can touch any file of the user". Replayed as found: a page or a compromised extension
// speaking to the real `sandgate-native-host` with the extension's own origin, the real agent and sandgate-lab behind
// it. The user's home holds what an attacker wants (a shell start-up file, an SSH key); the download folder is the only
// place the browser side may name. Each attack must fail with its code and leave every file as it was.

const ORIGIN = `chrome-extension://${CHROMIUM_EXTENSION_ID}/`;
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

interface Scene {
  stack: Stack;
  downloads: string;
  bashrc: string;
  sshKey: string;
  close(): Promise<void>;
}

/** A user's home with secrets, and an agent whose policy names `~/Downloads` as the only download folder. */
async function scene(sandbox?: StackOptions['sandbox']): Promise<Scene> {
  const userHome = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-user-')));
  const downloads = join(userHome, 'Downloads');
  mkdirSync(downloads);
  mkdirSync(join(userHome, '.ssh'), { mode: 0o700 });
  const bashrc = join(userHome, '.bashrc');
  const sshKey = join(userHome, '.ssh', 'id_ed25519');
  writeFileSync(bashrc, 'export PATH=$HOME/bin:$PATH\n', { mode: 0o644 });
  writeFileSync(sshKey, '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n', {
    mode: 0o600,
  });
  const stack = await startStack({ capture: { downloadDirs: [downloads] }, ...(sandbox ? { sandbox } : {}) });
  return {
    stack,
    downloads,
    bashrc,
    sshKey,
    close: async () => {
      await stack.close();
      rmSync(userHome, { recursive: true, force: true });
    },
  };
}

/** The native host as the browser starts it, for `caller`'s extension. */
function browserHost(stack: Stack, who: 'chromium' | 'firefox' = 'chromium'): HostProcess {
  const args =
    who === 'chromium'
      ? ['--allow-origin', ORIGIN, '--', ORIGIN]
      : ['--allow-origin', FIREFOX_EXTENSION_ID, '--', join(stack.root, 'org.sandgate.agent.json'), FIREFOX_EXTENSION_ID];
  return spawnHost({ home: stack.home, args, env: { PATH: stack.env.PATH! } });
}

let next = 0;
async function ask(host: HostProcess, type: string, payload: object): Promise<{ ok: boolean; data?: unknown; code?: string }> {
  const id = `r${++next}`;
  host.send({ v: 1, kind: 'request', id, type, payload });
  for (;;) {
    const f = (await host.nextFrame()) as { kind?: string; id?: string; ok?: boolean; data?: unknown; error?: { code: string } };
    if (f.kind === 'response' && f.id === id) return f.ok ? { ok: true, data: f.data } : { ok: false, code: f.error?.code ?? '?' };
  }
}

const modeOf = (p: string) => lstatSync(p).mode & 0o7777;
const provenance = { source: 'browser', browser: 'chromium', downloadId: 1 };

async function jobOf(
  host: HostProcess,
  jobId: string,
): Promise<{ state: string; verdict?: { level: string }; provenance: Record<string, unknown> } | undefined> {
  const r = await ask(host, 'list-jobs', { limit: 200 });
  const jobs = (
    r.data as { jobs: Array<{ jobId: string; state: string; verdict?: { level: string }; provenance: Record<string, unknown> }> }
  ).jobs;
  return jobs.find((j) => j.jobId === jobId);
}

describe('the browser side may touch only its own downloads', () => {
  let s: Scene;
  let host: HostProcess;
  beforeAll(async () => {
    s = await scene();
    host = browserHost(s.stack);
  });
  afterAll(async () => {
    host?.end();
    await host?.exited;
    await s?.close();
  });

  it('an SSH private key named by the browser is never read, let alone uploaded to the sandbox', async () => {
    expect(await ask(host, 'submit-download', { path: s.sshKey, provenance })).toEqual({ ok: false, code: 'PATH_OUTSIDE_DOWNLOADS' });
    expect(await labKnows(s.stack.lab, readFileSync(s.sshKey))).toBe(false);
    expect(s.stack.events().some((e) => e.path === s.sshKey && e.type === 'object-accepted')).toBe(false);
  });

  it('~/.bashrc cannot be held (renamed, mode 000), directly, through `..`, or through a link planted in Downloads', async () => {
    expect(await ask(host, 'submit-download', { path: s.bashrc, provenance, hold: true })).toEqual({
      ok: false,
      code: 'PATH_OUTSIDE_DOWNLOADS',
    });
    expect(await ask(host, 'submit-download', { path: `${s.downloads}/../.bashrc`, provenance, hold: true })).toEqual({
      ok: false,
      code: 'PATH_INVALID',
    });
    symlinkSync(s.bashrc, join(s.downloads, 'bashrc.exe'));
    expect(await ask(host, 'submit-download', { path: join(s.downloads, 'bashrc.exe'), provenance, hold: true })).toEqual({
      ok: false,
      code: 'PATH_IS_LINK',
    });
    // A folder link inside Downloads leading home.
    symlinkSync(join(s.downloads, '..'), join(s.downloads, 'up'));
    expect(await ask(host, 'submit-download', { path: join(s.downloads, 'up', '.bashrc'), provenance, hold: true })).toEqual({
      ok: false,
      code: 'PATH_IS_LINK',
    });
    // The old request that took any path is gone.
    expect((await ask(host, 'hold-landed', { path: s.bashrc })).ok).toBe(false);
    expect(readFileSync(s.bashrc, 'utf8')).toBe('export PATH=$HOME/bin:$PATH\n');
    expect(modeOf(s.bashrc)).toBe(0o644);
    expect(existsSync(`${s.bashrc}${HELD_SUFFIX}`)).toBe(false);
  });

  it('a hidden folder inside Downloads is not a download folder either', async () => {
    mkdirSync(join(s.downloads, '.config'));
    writeFileSync(join(s.downloads, '.config', 'secret.exe'), 'MZ not a download');
    expect(await ask(host, 'submit-download', { path: join(s.downloads, '.config', 'secret.exe'), provenance })).toEqual({
      ok: false,
      code: 'PATH_OUTSIDE_DOWNLOADS',
    });
  });

  it('whatever the browser writes, the job records source "browser" and the caller the native host saw', async () => {
    const file = join(s.downloads, 'report.pdf');
    writeFileSync(file, '%PDF-1.7 a report\n');
    const r = await ask(host, 'submit-download', {
      path: file,
      provenance: { source: 'cli', caller: 'firefox:someone-else@example.org', downloadId: 2 },
    });
    expect(r.ok).toBe(true);
    const job = await jobOf(host, (r.data as { jobId: string }).jobId);
    expect(job?.provenance).toMatchObject({ source: 'browser', caller: `chromium:${CHROMIUM_EXTENSION_ID}` });
  });

  it('a clean held download comes back with the bits it had, whatever mode the release asks for', async () => {
    const landed = join(s.downloads, 'tool.exe');
    writeFileSync(landed, 'MZ a harmless tool');
    chmodSync(landed, 0o640);
    const sub = await ask(host, 'submit-download', { path: landed, provenance, hold: true });
    expect(sub.ok).toBe(true);
    const { jobId, sha256, heldPath } = sub.data as { jobId: string; sha256: string; heldPath: string };
    expect(heldPath).toBe(`${landed}${HELD_SUFFIX}`);
    expect(modeOf(heldPath)).toBe(0);
    await pollFor('the clean verdict', async () => ((await jobOf(host, jobId))?.verdict?.level === 'clean' ? true : undefined));
    const rel = await ask(host, 'release-held', { path: heldPath, sha256, jobId, mode: 0o777 });
    expect(rel).toEqual({ ok: true, data: { path: landed } });
    expect(modeOf(landed)).toBe(0o640);
  });

  it('a held EICAR is never released: after its verdict it is quarantined from its held name, and a release is refused', async () => {
    const landed = join(s.downloads, 'eicar.com');
    writeFileSync(landed, EICAR);
    const sub = await ask(host, 'submit-download', { path: landed, provenance, hold: true });
    const { jobId, sha256, heldPath } = sub.data as { jobId: string; sha256: string; heldPath: string };
    expect(sha256).toBe(sha(EICAR));
    const release = await ask(host, 'release-held', { path: heldPath, sha256, jobId });
    expect(release.ok).toBe(false);
    expect(['RELEASE_NOT_JUDGED', 'HOLD_NOT_FOUND', 'FILE_NOT_FOUND']).toContain(release.code);
    await pollFor('the malicious verdict', async () => ((await jobOf(host, jobId))?.state === 'done' ? true : undefined));
    expect(existsSync(landed)).toBe(false);
    expect(existsSync(heldPath)).toBe(false);
    expect(s.stack.events().some((e) => e.type === 'quarantined' && e.jobId === jobId)).toBe(true);
  });

  it('another browser cannot release what this one holds', async () => {
    const landed = join(s.downloads, 'other.exe');
    writeFileSync(landed, 'MZ another harmless tool');
    const sub = await ask(host, 'submit-download', { path: landed, provenance, hold: true });
    const { jobId, sha256, heldPath } = sub.data as { jobId: string; sha256: string; heldPath: string };
    await pollFor('the clean verdict', async () => ((await jobOf(host, jobId))?.verdict?.level === 'clean' ? true : undefined));
    const firefox = browserHost(s.stack, 'firefox');
    try {
      expect(await ask(firefox, 'release-held', { path: heldPath, sha256, jobId })).toEqual({ ok: false, code: 'HOLD_NOT_FOUND' });
    } finally {
      firefox.end();
      await firefox.exited;
    }
    expect(modeOf(heldPath)).toBe(0);
  });
});

describe('a held download before its verdict', () => {
  let s: Scene;
  let host: HostProcess;
  beforeAll(async () => {
    // No server answers (port 9 on loopback is closed): no verdict can come, and policy keeps held files held.
    s = await scene({ servers: [{ url: 'https://127.0.0.1:9' }] });
    host = browserHost(s.stack);
  });
  afterAll(async () => {
    host?.end();
    await host?.exited;
    await s?.close();
  });

  it('stays held: a release sent before the verdict is refused with RELEASE_NOT_JUDGED', async () => {
    const landed = join(s.downloads, 'eicar.com');
    writeFileSync(landed, EICAR);
    const sub = await ask(host, 'submit-download', { path: landed, provenance, hold: true });
    const { jobId, sha256, heldPath } = sub.data as { jobId: string; sha256: string; heldPath: string };
    expect(await ask(host, 'release-held', { path: heldPath, sha256, jobId })).toEqual({ ok: false, code: 'RELEASE_NOT_JUDGED' });
    expect(existsSync(landed)).toBe(false);
    expect(modeOf(heldPath)).toBe(0);
    expect(readFileSync(heldPath, 'utf8')).toBe(EICAR);
  });
});
