import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollFor } from '#test-helpers/stack.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';
import { csrFor, newAgentKey } from '#native-host/console/agent-csr.ts';
import { httpsJson, runConsoleCli, startConsoleProcess, type ConsoleProcess } from './console-process.ts';

const pg = postgresAvailability();

/**
 * A CA rotation with two console processes on one PostgreSQL server: run on A, the administrator copies the new CA's
 * two files into B's folder, and B takes them without a restart; the retirement, run on A, is carried out by B on
 * its own folder. A workstation that moved is accepted by both, before and after the retirement.
 */
describe.skipIf(!pg.available)(`CA rotation with two console processes${pg.available ? '' : ` — SKIPPED: ${pg.reason}`}`, () => {
  let postgres: TempPostgres;
  let root: string;
  let env: Record<string, string | undefined>;
  const consoles: Partial<Record<'a' | 'b', ConsoleProcess>> = {};
  const dataOf = (name: string) => join(root, name);
  const cli = (args: string[]) => runConsoleCli([...args, '--data', dataOf('a'), '--json'], env);
  const copy = (files: string[]) => {
    mkdirSync(join(dataOf('b'), 'ca'), { recursive: true, mode: 0o700 });
    for (const f of files) copyFileSync(join(dataOf('a'), 'ca', f), join(dataOf('b'), 'ca', f));
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sandgate-ca-two-'));
    postgres = startTempPostgres();
    env = {
      DATABASE_URL: postgres.createDatabase('console_ca_two'),
      SANDGATE_CONSOLE_DATA: undefined,
      SANDGATE_CONSOLE_CA_WATCH_MS: '300',
    };
    const start = (name: string) => startConsoleProcess(['--data', dataOf(name), '--port', '0', '--admin-port', '0'], env);
    consoles.a = await start('a');
    copy(['ca-cert.pem', 'ca-key.pem']);
    consoles.b = await start('b');
  }, 120_000);

  afterAll(async () => {
    for (const c of Object.values(consoles)) await c?.stop();
    postgres?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('rotate on A, copy the new CA to B: B accepts the moved workstation without a restart, and follows the retirement', async () => {
    const oldCa = readFileSync(join(dataOf('a'), 'ca', 'ca-cert.pem'), 'utf8');
    const t = await cli(['token', 'create']);
    const key = newAgentKey();
    const host = { hostname: 'ws', platform: 'linux', release: '6', arch: 'x64' };
    const enrolled = await httpsJson(`${consoles.a!.info.agentUrl}/agent/v1/enroll`, {
      method: 'POST',
      ca: oldCa,
      body: { token: JSON.parse(t.stdout).token, csr: csrFor(key, 'ws'), host, appVersion: '0.0.0-test' },
    });
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
    const agentId: string = enrolled.body.agentId;

    const rotated = await cli(['ca', 'rotate']);
    expect(rotated.code, rotated.stderr).toBe(0);
    copy(['new-ca-cert.pem', 'new-ca-key.pem']);
    const newCa = readFileSync(join(dataOf('a'), 'ca', 'new-ca-cert.pem'), 'utf8');
    const nextKey = newAgentKey();
    const renewed = await httpsJson(`${consoles.a!.info.agentUrl}/agent/v1/renew`, {
      method: 'POST',
      ca: oldCa,
      cert: enrolled.body.certificate,
      key,
      body: { csr: csrFor(nextKey, agentId) },
    });
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);
    const moved = { cert: renewed.body.certificate as string, key: nextKey };
    const pollOn = (c: ConsoleProcess, ca: string) =>
      httpsJson(`${c.info.agentUrl}/agent/v1/poll?waitMs=0`, { ca, ...moved }).catch(() => ({ status: 0, body: null }));

    // B reloads its CA from its folder once the database and the folder agree: the new CA's certificate is accepted.
    await pollFor('B accepts a certificate of the new CA', async () =>
      (await pollOn(consoles.b!, oldCa)).status === 200 ? true : undefined,
    );
    expect(consoles.b!.stderr()).toMatch(/console CA reloaded: in service [0-9a-f]{64}, new CA/);

    // Retired on A (forced: this workstation, played here, reports nothing about what it pins). B renames its own
    // folder the same way and serves with the new CA; the moved workstation is accepted by both.
    const retired = await cli(['ca', 'retire', '--force']);
    expect(retired.code, retired.stderr).toBe(0);
    await pollFor('B serves with the new CA', async () => ((await pollOn(consoles.b!, newCa)).status === 200 ? true : undefined));
    expect(readFileSync(join(dataOf('b'), 'ca', 'ca-cert.pem'), 'utf8')).toBe(newCa);
    expect((await pollOn(consoles.a!, newCa)).status).toBe(200);
  }, 120_000);
});
