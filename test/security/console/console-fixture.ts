import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShippedEvent } from '@sandgate/shared';
import {
  ADMIN_PASSWORD,
  enrollWorkstation,
  httpsJson,
  loginAs,
  runConsoleCli,
  startConsoleProcess,
  type ConsoleProcess,
  type HttpAnswer,
  type Workstation,
} from '../../integration/console/console-process.ts';

export const VIEWER_PASSWORD = 'viewer-password-for-tests';

/**
 * One console process on embedded PostgreSQL for an attack scenario: an admin and a viewer, a CLI bound to its data
 * folder, and enrolled workstations whose stacks are closed afterwards. `config` becomes its console.json.
 */
export async function startAttackConsole(o: { config?: unknown } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-attack-'));
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
  const args = ['--data', dataDir, '--port', '0', '--admin-port', '0'];
  if (o.config !== undefined) {
    writeFileSync(join(dataDir, 'console.json'), JSON.stringify(o.config), { mode: 0o600 });
  }
  const consoleProcess: ConsoleProcess = await startConsoleProcess(args, env);
  const cli = (a: string[], stdin?: string) => runConsoleCli([...a, '--data', dataDir], env, stdin);
  const ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
  for (const [name, role, password] of [
    ['admin', 'admin', ADMIN_PASSWORD],
    ['vic', 'viewer', VIEWER_PASSWORD],
  ] as const) {
    const r = await cli(['user', 'add', name, '--role', role, '--password-stdin'], password + '\n');
    if (r.code !== 0) throw new Error(`user add ${name}: ${r.stderr}`);
  }
  const admin = await loginAs(consoleProcess.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
  const viewer = await loginAs(consoleProcess.info.adminUrl, ca, 'vic', VIEWER_PASSWORD);
  const stations: Workstation[] = [];
  return {
    consoleProcess,
    ca,
    admin,
    viewer,
    cli,
    /** A workstation enrolled in `group`; its agent started unless told otherwise. */
    async workstation(group: string, start = true): Promise<Workstation> {
      const w = await enrollWorkstation({ cli, consoleProcess, group, start });
      stations.push(w);
      return w;
    },
    /** The group's id, made on first enrollment into it. */
    async groupId(name: string): Promise<number> {
      const { body } = await admin('GET', 'groups');
      return (body.groups as Array<{ id: number; name: string }>).find((g) => g.name === name)!.id;
    },
    async close(): Promise<void> {
      for (const w of stations) await w.close();
      await consoleProcess.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * What anyone holding an enrolled workstation's files can do: call the console's agent API with that workstation's
 * own client certificate and key, saying whatever it likes.
 */
export function asWorkstation(consoleProcess: ConsoleProcess, ca: string, w: Workstation) {
  const cert = readFileSync(join(w.home, 'console', 'agent-cert.pem'), 'utf8');
  const key = readFileSync(join(w.home, 'console', 'agent-key.pem'), 'utf8');
  return {
    postEvents: (events: ShippedEvent[]): Promise<HttpAnswer> =>
      httpsJson(`${consoleProcess.info.agentUrl}/agent/v1/events`, { method: 'POST', ca, cert, key, body: { events } }),
  };
}
