import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { SHIM, runSandgate } from './run-sandgate.ts';

let home: string;
beforeEach(() => {
  home = join(realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-cli-ev-'))), 'home');
});
afterEach(() => rmSync(join(home, '..'), { recursive: true, force: true }));

describe('sandgate events', () => {
  it('prints the log readably, and as JSON lines with --json', async () => {
    const log = new EventLog(sandgatePaths(home).events);
    log.append({
      type: 'quarantined',
      path: '/home/u/Downloads/eicar.com',
      level: 'malicious',
      threat: 'EICAR-Test-File',
      quarantineId: 'abc',
    });
    log.append({ type: 'server-error', code: 'SERVER_UNREACHABLE', server: 'https://127.0.0.1:1', message: 'connection refused' });
    const text = await runSandgate(['events'], { home });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/quarantined malicious \(EICAR-Test-File\) item abc \/home\/u\/Downloads\/eicar.com/);
    expect(text.stdout).toMatch(/server-error \[SERVER_UNREACHABLE\]/);
    const json = await runSandgate(['events', '--json'], { home });
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual(['quarantined', 'server-error']);
  });

  it('--follow prints events appended later and stops cleanly on SIGINT', async () => {
    const log = new EventLog(sandgatePaths(home).events);
    log.append({ type: 'service-started', message: 'first' });
    const child = spawn(process.execPath, [SHIM, 'events', '--follow', '--json'], {
      env: { ...process.env, SANDGATE_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const seen = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (out.includes(text)) {
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await seen('"first"');
    log.append({ type: 'restored', quarantineId: 'later-item', message: 'second' });
    await seen('later-item');
    const exited = new Promise<number | null>((r) => child.on('close', r));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual(['service-started', 'restored']);
  });
});
