import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labHealthSchema } from '@sandgate/shared';
import { labRequest } from '#test-helpers/lab-request.ts';

const SHIM = resolve(import.meta.dirname, '../../../sandbox-server/bin/sandgate-lab.mjs');

let dir: string;
let child: ChildProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-cli-'));
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await new Promise((ok) => child!.once('exit', ok));
  }
  child = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Collects stdout lines (`.seen`); resolves the first one matching `pattern`. */
function lines(p: ChildProcess) {
  const seen: string[] = [];
  const waiters: { re: RegExp; ok: (l: string) => void }[] = [];
  createInterface({ input: p.stdout! }).on('line', (l) => {
    seen.push(l);
    for (const w of waiters.splice(0)) w.re.test(l) ? w.ok(l) : waiters.push(w);
  });
  const next = (re: RegExp) =>
    new Promise<string>((ok, fail) => {
      const hit = seen.find((l) => re.test(l));
      if (hit) return ok(hit);
      waiters.push({ re, ok });
      p.once('exit', (code) => fail(new Error(`exited ${code} before printing ${re}`)));
    });
  return Object.assign(next, { seen });
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((ok) => (p.exitCode !== null ? ok(p.exitCode) : p.once('exit', (code) => ok(code))));
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      ok(false);
    });
    s.once('error', () => ok(true));
  });
}

describe('sandgate-lab command', () => {
  it('runs from its npm shim under the system node by re-executing the pinned node, and stops on SIGTERM', async () => {
    // PATH without node_modules/.bin: `#!/usr/bin/env node` then finds the machine's own (older) node.
    const PATH = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((p) => !p.includes('node_modules'))
      .join(delimiter);
    let stderr = '';
    child = spawn(SHIM, ['serve', '--port', '0', '--data', dir, '--json'], {
      env: { ...process.env, PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (d) => (stderr += d));
    const info = JSON.parse(await lines(child)(/^\{/)) as {
      url: string;
      port: number;
      certPath: string;
      tokenPath: string;
      dataDir: string;
    };
    expect(info.certPath).toBe(join(dir, 'tls', 'cert.pem'));
    expect(info.tokenPath).toBe(join(dir, 'tls', 'token'));
    const token = readFileSync(info.tokenPath, 'utf8').trim();
    const health = await labRequest({ ...info, token }, 'GET', '/api/v1/health');
    expect(labHealthSchema.parse(health.body).server).toBe('sandgate-lab');

    child.kill('SIGTERM');
    expect(await exited(child), stderr).toBe(0);
    expect(await portClosed(info.port)).toBe(true);
  });

  it('prints where it listens and where its certificate is, and stops cleanly on Ctrl-C', async () => {
    child = spawn(process.execPath, [SHIM, 'serve', '--port', '0', '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const next = lines(child);
    const url = (await next(/^sandgate-lab listening on /)).split(' ').pop()!;
    const certPath = (await next(/^certificate/)).split(': ').pop()!;
    const tokenPath = (await next(/^client token/)).split(': ').pop()!;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(certPath).toBe(join(dir, 'tls', 'cert.pem'));
    // The token is printed as a path, never as itself, and its file is private to the lab's user.
    expect(tokenPath).toBe(join(dir, 'tls', 'token'));
    expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenPath, 'utf8').trim();
    expect(next.seen.join('\n')).not.toContain(token);
    expect((await labRequest({ url, certPath, token }, 'GET', '/api/v1/health')).status).toBe(200);
    expect((await labRequest({ url, certPath }, 'GET', '/api/v1/health')).status).toBe(401);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
  });

  it('explains a bad command line with error[USAGE] and exit status 2', async () => {
    let stderr = '';
    child = spawn(process.execPath, [SHIM, 'serve', '--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d) => (stderr += d));
    expect(await exited(child)).toBe(2);
    expect(stderr).toMatch(/^error\[USAGE\]: --port/);
  });
});
