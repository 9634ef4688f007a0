import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollFor } from '#test-helpers/stack.ts';
import { postgresAvailability, startTempPostgres, type TempPostgres } from '#test-helpers/postgres.ts';
import { objectIoc } from '#console/group-tasks/object-ioc.ts';
import {
  ADMIN_PASSWORD,
  enrollWorkstation,
  loginAs,
  runConsoleCli,
  startConsoleProcess,
  type ConsoleProcess,
  type Workstation,
} from './console-process.ts';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const pg = postgresAvailability();

interface Share {
  agentId: string;
  state: string;
  matches: Array<{ path: string; action: string; sha256?: string }>;
}

// Issue 18: an operator's own hunt for a group. The console (on a real PostgreSQL server) checks the uploaded file and
// hands it to the group's real agents, which parse it again and report what they find on their disk.
describe.skipIf(!pg.available)(
  `an operator's hunt for a group${pg.available ? '' : ` — SKIPPED: ${pg.reason}`}`,
  { timeout: 120_000 },
  () => {
    let postgres: TempPostgres;
    let dataDir: string;
    let console_: ConsoleProcess;
    let ca: string;
    let env: Record<string, string | undefined>;
    let admin: Awaited<ReturnType<typeof loginAs>>;
    let operator: Awaited<ReturnType<typeof loginAs>>;
    let viewer: Awaited<ReturnType<typeof loginAs>>;
    let groupId: number;
    let ws: Workstation;
    const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);

    const plant = (name: string, content: string) => {
      const p = join(ws.downloads, name);
      writeFileSync(p, content);
      return p;
    };

    const shareOf = async (taskId: string, states: string[]): Promise<Share> => {
      let last: unknown;
      try {
        return await pollFor(
          `the share of ${taskId}: ${states.join('/')}`,
          async () => {
            const { body } = await admin('GET', `tasks/${taskId}`);
            const s = (body.task.shares as Share[]).find((x) => x.agentId === ws.agentId);
            last = s;
            return s && states.includes(s.state) ? s : undefined;
          },
          60_000,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}; agent log: ${ws.agentLog().slice(-2000)}`);
      }
    };

    const hunt = (as: typeof admin, fileName: string, content: string | Buffer, options: Record<string, unknown> = {}) =>
      as('POST', 'hunts', { groupId, fileName, contentBase64: b64(content), options: { scope: ['~/Downloads'], ...options } });

    const auditRows = async () => (await admin('GET', 'audit?limit=1000')).body.entries as Array<Record<string, any>>;
    const taskCount = async () => ((await admin('GET', 'tasks')).body.tasks as unknown[]).length;

    beforeAll(async () => {
      postgres = startTempPostgres();
      dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-hunt-'));
      env = { DATABASE_URL: postgres.createDatabase('console_hunt'), SANDGATE_CONSOLE_DATA: undefined };
      console_ = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0'], env);
      ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
      for (const [name, role] of [
        ['admin', 'admin'],
        ['olga', 'ioc-operator'],
        ['vic', 'viewer'],
      ] as const)
        expect((await cli(['user', 'add', name, '--role', role, '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
      admin = await loginAs(console_.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
      operator = await loginAs(console_.info.adminUrl, ca, 'olga', ADMIN_PASSWORD);
      viewer = await loginAs(console_.info.adminUrl, ca, 'vic', ADMIN_PASSWORD);
      ws = await enrollWorkstation({ cli, consoleProcess: console_, group: 'office', start: false });
      ws.env.HOME = ws.root;
      await ws.startAgent();
      groupId = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'office').id;
    }, 120_000);

    afterAll(async () => {
      await ws?.close();
      await console_?.stop();
      postgres?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('a STIX 2.1 bundle uploaded in the web console: the workstation finds the planted file by its SHA-256 and reports it', async () => {
      const planted = plant('quarterly-report.docm', 'hunt marker: stix ' + Date.now());
      const bundle = {
        type: 'bundle',
        id: 'bundle--6b2f2b1e-8d5c-4b7e-9c62-3f0e9a1c2d41',
        objects: [
          {
            type: 'indicator',
            spec_version: '2.1',
            id: 'indicator--1f3a9b62-0e4d-4c1a-8b7f-2d5e6a7c8b90',
            created: '2026-12-01T00:00:00Z',
            modified: '2026-12-01T00:00:00Z',
            pattern: `[file:hashes.'SHA-256' = '${sha256(readFileSync(planted))}']`,
            pattern_type: 'stix',
            valid_from: '2026-12-01T00:00:00Z',
          },
        ],
      };
      const text = JSON.stringify(bundle);
      const r = await hunt(operator, 'feed.json', text);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({
        file: { format: 'stix', sha256: sha256(text), indicators: 1 },
        workstations: 1,
        awaitingApproval: false,
      });
      const share = await shareOf(r.body.id, ['matched']);
      expect(share.matches).toEqual([expect.objectContaining({ path: planted, action: 'reported' })]);
      expect(existsSync(planted)).toBe(true);
      const row = (await auditRows()).find((e) => e.action === 'hunt.create' && e.outcome === 'ok');
      expect(row).toMatchObject({
        actor: 'user:olga',
        target: String(groupId),
        details: { group: groupId, fileName: 'feed.json', sha256: sha256(text), format: 'stix' },
      });
    });

    it('YARA rules that quarantine: scanned and reported until a second operator approves; the one who made it cannot', async () => {
      const planted = plant('setup-helper.bin', 'prefix SANDGATE-HUNT-YARA-MARKER suffix');
      const rules = 'rule sandgate_hunt_marker {\n  strings: $a = "SANDGATE-HUNT-YARA-MARKER"\n  condition: $a\n}\n';
      const r = await hunt(admin, 'marker.yar', rules, { quarantineOnMatch: true });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ file: { format: 'yara', indicators: 1 }, awaitingApproval: true });
      const held = await shareOf(r.body.id, ['awaiting-witness']);
      expect(held.matches).toEqual([expect.objectContaining({ path: planted, action: 'awaiting-witness' })]);
      expect(existsSync(planted)).toBe(true);

      const own = await admin('POST', `tasks/${r.body.id}/approve`, {});
      expect(own.status).toBe(403);
      expect(own.body.error).toMatchObject({ code: 'CONSOLE_FORBIDDEN', params: { reason: 'own-hunt' } });
      expect((await admin('GET', `tasks/${r.body.id}`)).body.task.witness.state).toBe('awaiting');

      const ok = await operator('POST', `tasks/${r.body.id}/approve`, {});
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const done = await shareOf(r.body.id, ['matched']);
      expect(done.matches).toEqual([expect.objectContaining({ path: planted, action: 'quarantined' })]);
      expect(existsSync(planted)).toBe(false);
    });

    it('an OpenIOC file from the command line (sandgate-console hunt create): the workstation finds the planted file', async () => {
      const planted = plant('tool.exe', 'hunt marker: openioc ' + Date.now());
      const iocFile = join(dataDir, 'hunt.ioc');
      writeFileSync(iocFile, objectIoc({ sha256: sha256(readFileSync(planted)) }));
      const r = await cli(['hunt', 'create', '--group', 'office', '--file', iocFile, '--scope', '~/Downloads', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ file: { format: 'openioc', name: 'hunt.ioc' }, workstations: 1 });
      const share = await shareOf(out.id, ['matched']);
      expect(share.matches).toEqual([expect.objectContaining({ path: planted, action: 'reported' })]);
      const row = (await auditRows()).find((e) => e.action === 'hunt.create' && e.details?.taskId === out.id);
      expect(row).toMatchObject({ actor: expect.stringMatching(/^cli:/), outcome: 'ok', details: { format: 'openioc', group: 'office' } });
    });

    it('a viewer is refused, audited, and nothing is made', async () => {
      const before = await taskCount();
      const r = await hunt(viewer, 'v.yar', 'rule v { condition: true }');
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('CONSOLE_FORBIDDEN');
      expect(await taskCount()).toBe(before);
      const row = (await auditRows()).find((e) => e.action === 'hunt.create' && e.actor === 'user:vic');
      expect(row).toMatchObject({ outcome: 'refused', details: { code: 'CONSOLE_FORBIDDEN', format: 'yara', fileName: 'v.yar' } });
    });

    it('an oversize file, garbage, a broken rule and a bad STIX file each get their code, are audited, and make nothing', async () => {
      const before = await taskCount();
      const cases: Array<[string, string | Buffer, number, string]> = [
        ['big.yar', 'rule big { condition: true }\n' + '//'.padEnd(300 * 1024, 'x'), 413, 'CONSOLE_HUNT_FILE_TOO_LARGE'],
        ['garbage.bin', Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00]), 400, 'IOC_FORMAT_UNKNOWN'],
        ['broken.yar', 'rule broken { strings: $a = "x" condition: $b }', 400, 'YARA_COMPILE_FAILED'],
        ['not-stix.json', '{"type": "bundle", "id": 7}', 400, 'STIX_PARSE_FAILED'],
        ['bad-xml.ioc', '<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1"><criteria>', 400, 'IOC_PARSE_FAILED'],
      ];
      for (const [name, content, status, code] of cases) {
        const r = await hunt(admin, name, content);
        expect({ name, status: r.status, code: r.body.error?.code }).toEqual({ name, status, code });
        const row = (await auditRows()).find((e) => e.action === 'hunt.create' && e.details?.fileName === name);
        expect(row).toMatchObject({ outcome: 'failed', details: { code, sha256: sha256(content) } });
      }
      expect(await taskCount()).toBe(before);
      // The command line refuses the oversize file before reading it whole, with the same code.
      const big = join(dataDir, 'big.yar');
      writeFileSync(big, Buffer.alloc(300 * 1024, 0x20));
      const r = await cli(['hunt', 'create', '--group', 'office', '--file', big]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('error[CONSOLE_HUNT_FILE_TOO_LARGE]');
    });
  },
);
