import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IocScanTask, TaskProgress } from '@sandgate/shared';
import { createAgent } from '../../../../native-host/src/agent/agent.ts';
import { GroupTaskAgent } from '../../../../native-host/src/console/group-task-agent.ts';
import { silentLogger } from '../../../../native-host/src/log.ts';
import type { RunningLab } from '../../../../sandbox-server/src/lab-server.ts';
import { codeSigningIdentity, requireOsslsigncode, signPe, type SigningIdentity } from '../../../helpers/code-signing.ts';
import { makePeFile } from '../../../helpers/pe-file.ts';
import { makeCa } from '../../../helpers/pki.ts';
import { lab, policyFor, sha256 } from './task-fixtures.ts';

let root: string;
let home: string;
let server: RunningLab;
let contoso: SigningIdentity;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  requireOsslsigncode();
  contoso = codeSigningIdentity(makeCa('Sandgate Test Root'), { organization: 'Contoso Ltd', commonName: 'Contoso Code Signing' }, { intermediate: true });
}, 60_000);
beforeEach(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-publisher-')));
  home = join(root, 'home');
  mkdirSync(join(home, 'console'), { recursive: true, mode: 0o700 });
  server = await lab(root);
  cleanups.push(() => server.close());
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

/** An OpenIOC 1.1 file hunting any of these SHA-256 values. */
function hashesIoc(hashes: string[]): string {
  const items = hashes
    .map((h, i) => `<IndicatorItem id="t${i}" condition="is"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="sha256">${h}</Content></IndicatorItem>`)
    .join('\n      ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="tool-hunt" last-modified="2026-11-01T00:00:00Z">
  <metadata><short_description>the tool, signed or not</short_description><authored_by>test</authored_by></metadata>
  <criteria>
    <Indicator operator="OR" id="i1">
      ${items}
    </Indicator>
  </criteria>
</OpenIOC>
`;
}

describe('a group task whose never-quarantine list names a publisher', () => {
  it('keeps the copy signed by the pinned publisher and quarantines the same program unsigned elsewhere', async () => {
    const program = makePeFile({ code: Buffer.from('the same program, signed or not') });
    const signed = signPe(program, contoso);
    const scope = join(root, 'data');
    const keptPath = join(scope, 'vendor', 'tool.exe');
    const strayPath = join(scope, 'downloads', 'tool.exe');
    mkdirSync(join(scope, 'vendor'), { recursive: true });
    mkdirSync(join(scope, 'downloads'), { recursive: true });
    writeFileSync(keptPath, signed);
    writeFileSync(strayPath, program);

    const agent = await createAgent({ home, loaded: await policyFor(root, server), appVersion: 'test', tasks: { idleSources: [] } });
    cleanups.push(() => agent.close());
    const reports: TaskProgress[] = [];
    const groupTasks = new GroupTaskAgent({ home, agentId: 'agent-1', log: silentLogger, report: async (p) => void reports.push(p), tasks: () => agent.tasks });

    const share: IocScanTask = {
      type: 'ioc-scan',
      id: randomUUID(),
      groupTaskId: randomUUID(),
      ioc: hashesIoc([sha256(signed), sha256(program)]),
      sha256: sha256(program),
      scope: [scope],
      runMode: 'afterThreat',
      onMatch: { quarantine: true, criticalAreasScan: false },
      dryRun: false,
      neverQuarantine: { paths: [], sha256: [], publishers: [{ name: 'contoso ltd', caSha256: [contoso.intermediateSha256!] }] },
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    };
    await groupTasks.handle([share]);
    let done: TaskProgress | undefined;
    while (!done) {
      await groupTasks.reportChanges();
      done = reports.find((r) => r.state === 'done' || r.state === 'failed');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(done.state).toBe('done');

    expect(done.matches).toHaveLength(2);
    expect(done.matches).toEqual(
      expect.arrayContaining([
        { path: keptPath, sha256: sha256(signed), action: 'kept-never-quarantine', code: 'NEVER_QUARANTINE_PUBLISHER' },
        expect.objectContaining({ path: strayPath, sha256: sha256(program), action: 'quarantined', quarantineId: expect.any(String) }),
      ]),
    );
    expect(readFileSync(keptPath).equals(signed)).toBe(true);
    expect(existsSync(strayPath)).toBe(false);
    const local = agent.tasks!.list()[0]!;
    const kept = agent.tasks!.get(local.id).matches.find((m) => m.path === keptPath)!;
    expect(kept.actions).toEqual([
      { type: 'quarantine', status: 'skipped', code: 'NEVER_QUARANTINE_PUBLISHER', message: 'signed by "contoso ltd", a never-quarantine publisher of the group: reported, not quarantined' },
    ]);
  });
});
