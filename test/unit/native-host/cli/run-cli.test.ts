import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '#native-host/cli/run-cli.ts';
import type { CliIo } from '#native-host/cli/cli-io.ts';
import { formatEvent } from '#native-host/cli/events-command.ts';
import { formatTable } from '#native-host/cli/format-table.ts';

let root: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-cli-unit-')));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function fakeIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    stdoutIsTTY: false,
    stderrIsTTY: false,
    env: { SANDGATE_HOME: join(root, 'home') },
    cwd: root,
    interrupted: new Promise<string>(() => {}),
  };
  return io;
}

describe('command line > parsing', () => {
  it('accepts common options before the command word', async () => {
    const io = fakeIo();
    expect(await runCli(['--json', 'quarantine', 'list'], io)).toBe(0);
    expect(io.stdout).toBe('[]\n');
  });

  it('does not take the value of --policy for the command', async () => {
    const io = fakeIo();
    expect(await runCli(['--policy', 'quarantine', 'policy', 'show'], io)).toBe(2);
    expect(io.stderr).toMatch(/^error\[POLICY_NOT_FOUND\]: .*quarantine/);
  });

  it('prints help for a command with --help and exits 0', async () => {
    const io = fakeIo();
    expect(await runCli(['quarantine', '--help'], io)).toBe(0);
    expect(io.stdout).toContain('sandgate quarantine restore ID [--to PATH]');
  });

  it('asks for an ID when one is missing', async () => {
    const io = fakeIo();
    expect(await runCli(['quarantine', 'restore', '--json'], io)).toBe(2);
    expect(JSON.parse(io.stdout)).toEqual({ error: { code: 'USAGE', message: expect.stringContaining('needs an item ID') } });
  });

  it('prints usage and exits 2 when called with nothing', async () => {
    const io = fakeIo();
    expect(await runCli([], io)).toBe(2);
    expect(io.stdout).toContain('usage: sandgate COMMAND');
  });
});

describe('command line > formatting', () => {
  it('writes an event as one readable line', () => {
    expect(
      formatEvent({
        time: '2026-01-01T00:00:00.000Z',
        type: 'quarantine-failed',
        code: 'ORIGINAL_CHANGED',
        path: '/d/x.exe',
        message: 'left alone',
      }),
    ).toBe('2026-01-01T00:00:00.000Z quarantine-failed [ORIGINAL_CHANGED] /d/x.exe - left alone\n');
  });

  it('aligns table columns without trailing blanks', () => {
    expect(formatTable(['A', 'LONG HEADER'], [['xyz', 'v']])).toBe('A    LONG HEADER\nxyz  v\n');
  });
});
