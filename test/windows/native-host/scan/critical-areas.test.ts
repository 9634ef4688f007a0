import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanOutputSchema } from '@sandgate/shared';
import { makeWineHome, type WineHome } from '#test-helpers/wine-home.ts';
import { SANDGATE_SHIM, readyWine, runWine, runWineNode, winPath, wineNode } from '#test-helpers/wine-node.ts';

const wine = wineNode();

const RUN = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';
const SERVICE = 'HKLM\\System\\CurrentControlSet\\Services\\SandgateTestSvc';
const VALUE = 'SandgateTestRun';
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
/** Each planted file is EICAR plus its own tail, so each has its own SHA-256 (nothing else on the drive has it). */
const content = (tail: string) => Buffer.from(`${EICAR}sandgate-windows-tier-${tail}`);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** OpenIOC 1.1 naming files by SHA-256 (OR). */
function hashIoc(hashes: string[]): string {
  const items = hashes
    .map(
      (h, i) => `<IndicatorItem id="h${i}" condition="is" preserve-case="false" negate="false">
        <Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="sha256">${h}</Content></IndicatorItem>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="1e0c0000-0000-4000-8000-000000000a01" last-modified="2024-01-01T00:00:00Z">
  <metadata><short_description>planted on Wine's C:</short_description><authored_date>2024-01-01T00:00:00Z</authored_date></metadata>
  <criteria><Indicator operator="OR" id="or">${items}</Indicator></criteria>
</OpenIOC>`;
}

describe.skipIf(!wine.available)(
  `Critical Areas Scan from the live Windows system (Wine's registry and C:)${wine.available ? '' : ` — SKIPPED: ${wine.reason}`}`,
  () => {
    const w = () => readyWine(wine);
    let h: WineHome;
    const driveC = () => join(w().prefix, 'drive_c');
    const plantDir = () => join(driveC(), 'sandgate-windows-tier');
    /** The Wine user's startup folder (Wine spells it StartUp; Windows paths ignore case). */
    const startupDir = () => {
      const user = readdirSync(join(driveC(), 'users')).find((u) => u !== 'Public')!;
      return {
        user,
        dir: join(driveC(), 'users', user, 'AppData', 'Roaming', 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup'),
      };
    };
    const taskFile = () => join(driveC(), 'windows', 'system32', 'tasks', 'SandgateTestTask');
    const files = { run: content('run'), startup: content('startup'), service: content('service'), task: content('task') };
    const reg = async (args: string[]) => {
      const r = await runWine(w(), 'reg', args, { outDir: h.outDir });
      if (r.code !== 0) throw new Error(`reg ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    };
    const clean = async () => {
      await runWine(w(), 'reg', ['delete', RUN, '/v', VALUE, '/f'], { outDir: h.outDir });
      await runWine(w(), 'reg', ['delete', SERVICE, '/f'], { outDir: h.outDir });
      rmSync(plantDir(), { recursive: true, force: true });
      rmSync(join(startupDir().dir, 'sandgate-planted.exe'), { force: true });
      rmSync(taskFile(), { force: true });
    };

    beforeAll(async () => {
      h = makeWineHome();
      await clean();
      mkdirSync(plantDir(), { recursive: true });
      writeFileSync(join(plantDir(), 'upd.exe'), files.run);
      writeFileSync(join(plantDir(), 'svc.exe'), files.service);
      writeFileSync(join(plantDir(), 'task.exe'), files.task);
      mkdirSync(startupDir().dir, { recursive: true });
      writeFileSync(join(startupDir().dir, 'sandgate-planted.exe'), files.startup);
      // A task definition as Task Scheduler stores it: UTF-16 with a BOM.
      mkdirSync(join(taskFile(), '..'), { recursive: true });
      const xml = `<?xml version="1.0" encoding="UTF-16"?><Task><Actions><Exec><Command>C:\\sandgate-windows-tier\\task.exe</Command><Arguments>--now</Arguments></Exec></Actions></Task>`;
      writeFileSync(taskFile(), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]));
      await reg(['add', RUN, '/v', VALUE, '/t', 'REG_SZ', '/d', '"C:\\sandgate-windows-tier\\upd.exe" /quiet', '/f']);
      await reg([
        'add',
        SERVICE,
        '/v',
        'ImagePath',
        '/t',
        'REG_EXPAND_SZ',
        '/d',
        '%SystemDrive%\\sandgate-windows-tier\\svc.exe -k x',
        '/f',
      ]);
      await reg(['add', SERVICE, '/v', 'Start', '/t', 'REG_DWORD', '/d', '2', '/f']);
      writeFileSync(join(h.root, 'planted.ioc'), hashIoc(Object.values(files).map(sha256)));
    });
    afterAll(async () => {
      if (h) await clean();
      h?.close();
    });

    it('ioc scan --scope critical finds the planted Run-key, startup-folder, service and task files, each named with its area, and lists what it could not read', async () => {
      const r = await runWineNode(
        w(),
        [SANDGATE_SHIM, 'ioc', 'scan', winPath(join(h.root, 'planted.ioc')), '--scope', 'critical', '--json'],
        {
          outDir: h.outDir,
          env: { SANDGATE_HOME: h.winHome },
        },
      );
      expect(r.code, r.stderr).toBe(1); // 1: something was found
      const out = scanOutputSchema.parse(JSON.parse(r.stdout));
      const found = out.matches.map((m) => `${m.area} ${m.path} <- ${m.origin}`);
      expect(found).toContain(`registry-run C:\\sandgate-windows-tier\\upd.exe <- ${RUN}\\${VALUE}`);
      // Read once, as HKCU: the same hive is not read again as HKU\<this user's SID>.
      expect(found.filter((f) => f.startsWith('registry-run C:\\sandgate-windows-tier\\upd.exe'))).toHaveLength(1);
      expect(found).toContain('service C:\\sandgate-windows-tier\\svc.exe <- service SandgateTestSvc ImagePath');
      expect(found).toContain('scheduled-task C:\\sandgate-windows-tier\\task.exe <- scheduled task \\SandgateTestTask Exec');
      const { user } = startupDir();
      expect(found).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^user-startup C:\\\\Users\\\\${user}\\\\AppData\\\\Roaming\\\\Microsoft\\\\Windows\\\\Start Menu\\\\Programs\\\\Startup\\\\sandgate-planted\\.exe <- startup folder$`,
            'i',
          ),
        ),
      );
      expect(out.matches.find((m) => m.area === 'registry-run')?.sha256).toBe(sha256(files.run));
      // What Wine does not let the collector read is listed by area, with the reason (never an empty area).
      const notExamined = new Map(out.notExamined.map((n) => [n.area, n.reason]));
      expect(notExamined.get('process')).toMatch(
        /no process listing works here \(wmic: .*; tasklist listed 0 process\(es\), not this one\)/,
      );
      expect(notExamined.get('driver')).toMatch(/^driverquery: /);
      expect(notExamined.get('boot-sector')).toMatch(/needs an administrator/);
    });

    it('scan critical runs the same live collector against the sandbox verdicts on record: the Run-key file judged malicious is found', async () => {
      mkdirSync(join(h.home, 'jobs'), { recursive: true });
      const job = {
        jobId: 'job-w1',
        state: 'done',
        path: 'C:\\sandgate-windows-tier\\upd.exe',
        sha256: sha256(files.run),
        size: files.run.length,
        provenance: { source: 'cli' },
        acceptedAt: '2026-01-01T00:00:00.000Z',
        verdict: { level: 'malicious', threat: 'Test-RunKey', server: 'https://127.0.0.1:8443' },
      };
      writeFileSync(join(h.home, 'jobs', 'finished.jsonl'), JSON.stringify(job) + '\n');
      const r = await runWineNode(w(), [SANDGATE_SHIM, 'scan', 'critical', '--json'], {
        outDir: h.outDir,
        env: { SANDGATE_HOME: h.winHome },
      });
      expect(r.code, r.stderr).toBe(1);
      const out = scanOutputSchema.parse(JSON.parse(r.stdout));
      expect(out.knownMaliciousHashes).toBe(1);
      expect(out.matches).toEqual([
        expect.objectContaining({
          source: 'verdict',
          iocId: 'verdict:job-w1',
          area: 'registry-run',
          path: 'C:\\sandgate-windows-tier\\upd.exe',
          origin: `${RUN}\\${VALUE}`,
        }),
      ]);
      expect(out.notExamined.map((n) => n.area)).toEqual(expect.arrayContaining(['process', 'driver', 'boot-sector']));
    });
  },
);
