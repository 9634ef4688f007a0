import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '#test-helpers/stack.ts';
import { runConsoleCli, startConsoleProcess, type ConsoleProcess } from './console-process.ts';

// An administrator runs `sandgate-console token create` and pastes the line it prints on a workstation. That line
// must name the console's own address (a name in its certificate), not a placeholder to edit by hand.
describe('the enrollment line token create prints', () => {
  let dataDir: string;
  let console_: ConsoleProcess | undefined;
  const stacks: Stack[] = [];
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
  const cli = (args: string[]) => runConsoleCli([...args, '--data', dataDir], env);
  const enrollLine = (stdout: string) =>
    stdout
      .split('\n')
      .find((l) => l.trim().startsWith('sandgate enroll '))
      ?.trim() ?? '';

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-'));
  });
  afterAll(async () => {
    for (const s of stacks) await s.close();
    await console_?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says the address is not known yet before any console has served on the database', async () => {
    const r = await cli(['token', 'create']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('no console has been started on this database yet');
  });

  it('names the address the running console answers at, and a workstation enrolls with the line as printed', async () => {
    console_ = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0', '--name', 'localhost'], env);
    const port = new URL(console_.info.agentUrl).port;
    const r = await cli(['token', 'create', '--group', 'office']);
    expect(r.code, r.stderr).toBe(0);
    const line = enrollLine(r.stdout);
    expect(line).toMatch(new RegExp(`^sandgate enroll https://localhost:${port} \\S+ --ca-fingerprint [0-9a-f:]+$`, 'i'));
    expect(r.stdout).not.toContain('CONSOLE:');

    const ws = await startStack({ startAgent: false });
    stacks.push(ws);
    const enrolled = await ws.sandgate([...line.split(' ').slice(1), '--json']);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(JSON.parse(enrolled.stdout).agentId).toBeTruthy();
  });

  it('remembers the address when the console is stopped, and --url names another', async () => {
    const port = new URL(console_!.info.agentUrl).port;
    await console_!.stop();
    console_ = undefined;
    const remembered = await cli(['token', 'create', '--json']);
    expect(remembered.code, remembered.stderr).toBe(0);
    expect(JSON.parse(remembered.stdout).enrollUrl).toBe(`https://localhost:${port}`);

    const other = await cli(['token', 'create', '--url', 'https://sandgate.example.org:9444']);
    expect(enrollLine(other.stdout)).toMatch(/^sandgate enroll https:\/\/sandgate\.example\.org:9444 /);
    const bad = await cli(['token', 'create', '--url', 'http://plain.example.org']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error[USAGE]');
  });
});
