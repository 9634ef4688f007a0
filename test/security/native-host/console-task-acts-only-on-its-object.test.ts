import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgent } from '#native-host/agent/agent.ts';
import { EICAR, policyFor, runConsoleShare, sha256, useTaskWorkspace } from '../../integration/native-host/tasks/task-fixtures.ts';
import { FORGED_IOC } from '../forged-ioc.ts';

const md5 = (b: string) => createHash('md5').update(b).digest('hex');

/** The rogue's IOC, plus a term that finds a file by its MD5 alone (no SHA-256 is read for it). */
const forgedWithMd5 = (hex: string) =>
  FORGED_IOC.replace(
    '<Indicator operator="AND" id="i1">',
    `<Indicator operator="OR" id="any"><IndicatorItem id="m1" condition="is"><Context document="FileItem" search="FileItem/Md5sum" type="mir"/><Content type="md5">${hex}</Content></IndicatorItem><Indicator operator="AND" id="i1">`,
  ).replace('</Indicator>\n  </criteria>', '</Indicator></Indicator>\n  </criteria>');

const ws = useTaskWorkspace('sg-object-only-', { consoleFolder: true });

// Defence in depth on the workstation: even a share whose IOC is the rogue's (a console of an older version, or one
// that was itself subverted) and which says it was witnessed quarantines only files whose SHA-256, computed while the
// agent read them, is the task's object. Everything else it matched is reported, never touched.
describe('a console group task whose indicators match far more than its object', () => {
  it("quarantines only the object's SHA-256; files matched by name, by MD5 or by a forged term are reported", async () => {
    const home = join(ws.root, 'user');
    mkdirSync(join(home, 'Documents'), { recursive: true });
    const notes = join(home, 'notes.txt');
    const report = join(home, 'Documents', 'report.docx');
    const readme = join(home, 'README');
    const renamed = join(home, 'holiday-photos.scr');
    writeFileSync(notes, 'shopping: milk, eggs\n');
    writeFileSync(report, 'quarterly report\n');
    writeFileSync(readme, 'read me first\n');
    writeFileSync(renamed, EICAR);

    const agent = await createAgent({
      home: ws.home,
      loaded: await policyFor(ws.root, ws.server),
      appVersion: 'test',
      tasks: { idleSources: [] },
    });
    ws.cleanups.push(() => agent.close());
    // Witnessed, with the object's SHA-256 as the only thing it may quarantine, and the forged IOC as its indicators.
    const done = await runConsoleShare({
      home: ws.home,
      agent,
      hashes: [sha256(EICAR)],
      scope: home,
      ioc: forgedWithMd5(md5('read me first\n')),
    });

    expect(done.state).toBe('done');
    const byPath = Object.fromEntries(done.matches.map((m) => [m.path, m]));
    expect(byPath[renamed]).toMatchObject({ action: 'quarantined', sha256: sha256(EICAR) });
    for (const p of [notes, report, readme]) expect(byPath[p]).toMatchObject({ action: 'reported', code: 'GROUP_TASK_NOT_THE_OBJECT' });
    expect(existsSync(renamed)).toBe(false);
    expect(readFileSync(notes, 'utf8')).toBe('shopping: milk, eggs\n');
    expect(readFileSync(report, 'utf8')).toBe('quarterly report\n');
    expect(readFileSync(readme, 'utf8')).toBe('read me first\n');
  });
});
