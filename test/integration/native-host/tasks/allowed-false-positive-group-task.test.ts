import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IocScanTask, TaskProgress } from '@sandgate/shared';
import { createAgent } from '../../../../native-host/src/agent/agent.ts';
import { GroupTaskAgent } from '../../../../native-host/src/console/group-task-agent.ts';
import { silentLogger } from '../../../../native-host/src/log.ts';
import type { RunningLab } from '../../../../sandbox-server/src/lab-server.ts';
import { EICAR, lab, policyFor, sha256 } from './task-fixtures.ts';

// A console group task hunts two hashes; the workstation's policy lists one of them as a known false positive
// (`response.allowSha256`). That copy is kept and reported as such; the other is quarantined as the task asks.

let root: string;
let home: string;
let server: RunningLab;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-allowed-task-')));
  home = join(root, 'home');
  mkdirSync(join(home, 'console'), { recursive: true, mode: 0o700 });
  server = await lab(root);
  cleanups.push(() => server.close());
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

function hashesIoc(hashes: string[]): string {
  const items = hashes
    .map((h, i) => `<IndicatorItem id="t${i}" condition="is"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="sha256">${h}</Content></IndicatorItem>`)
    .join('\n      ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="eicar-hunt" last-modified="2026-11-01T00:00:00Z">
  <metadata><short_description>two EICAR files</short_description><authored_by>test</authored_by></metadata>
  <criteria>
    <Indicator operator="OR" id="i1">
      ${items}
    </Indicator>
  </criteria>
</OpenIOC>
`;
}

describe('a group task that matches a known false positive', () => {
  it('keeps the allowed object (kept-never-quarantine, ALLOWED_FALSE_POSITIVE) and quarantines the other match', async () => {
    const allowedBytes = Buffer.from(EICAR);
    const otherBytes = Buffer.from(EICAR + '\r\n');
    const scope = join(root, 'data');
    mkdirSync(scope, { recursive: true });
    const keptPath = join(scope, 'allowed.com');
    const strayPath = join(scope, 'other.com');
    writeFileSync(keptPath, allowedBytes);
    writeFileSync(strayPath, otherBytes);

    const loaded = await policyFor(root, server, { response: { allowSha256: [sha256(allowedBytes)] } });
    const agent = await createAgent({ home, loaded, appVersion: 'test', tasks: { idleSources: [] } });
    cleanups.push(() => agent.close());
    const reports: TaskProgress[] = [];
    const groupTasks = new GroupTaskAgent({ home, agentId: 'agent-1', log: silentLogger, report: async (p) => void reports.push(p), tasks: () => agent.tasks });

    const share: IocScanTask = {
      type: 'ioc-scan',
      id: randomUUID(),
      groupTaskId: randomUUID(),
      ioc: hashesIoc([sha256(allowedBytes), sha256(otherBytes)]),
      sha256: sha256(otherBytes),
      scope: [scope],
      runMode: 'afterThreat',
      onMatch: { quarantine: true, criticalAreasScan: false },
      dryRun: false,
      neverQuarantine: { paths: [], sha256: [], publishers: [] },
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
        { path: keptPath, sha256: sha256(allowedBytes), action: 'kept-never-quarantine', code: 'ALLOWED_FALSE_POSITIVE' },
        expect.objectContaining({ path: strayPath, sha256: sha256(otherBytes), action: 'quarantined', quarantineId: expect.any(String) }),
      ]),
    );
    expect(readFileSync(keptPath).equals(allowedBytes)).toBe(true);
    expect(existsSync(strayPath)).toBe(false);
  });
});
