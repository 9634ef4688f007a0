import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgent } from '#native-host/agent/agent.ts';
import { EICAR, policyFor, sha256, until, useTaskWorkspace } from './task-fixtures.ts';

const ws = useTaskWorkspace('sg-task-stix-yara-');

describe('an IOC scan task with a STIX bundle and YARA rules', () => {
  it('keeps both files, reports what it cannot evaluate when created, and records matches naming their format', async () => {
    const scope = join(ws.root, 'data');
    mkdirSync(join(scope, 'sub'), { recursive: true });
    writeFileSync(join(scope, 'sub/eicar.com'), EICAR);
    writeFileSync(join(scope, 'sub/tool.ps1'), 'Invoke-Expression "SANDGATE-TASK-YARA-MARKER"');
    writeFileSync(join(scope, 'clean.txt'), 'clean');
    const bundle = join(ws.root, 'feed.json');
    writeFileSync(
      bundle,
      JSON.stringify({
        type: 'bundle',
        id: 'bundle--b2b2b2b2-0000-4000-8000-000000000000',
        objects: [
          {
            type: 'indicator',
            spec_version: '2.1',
            id: 'indicator--b2b2b2b2-0000-4000-8000-000000000001',
            created: '2024-01-01T00:00:00Z',
            modified: '2024-01-01T00:00:00Z',
            pattern: `[file:hashes.'SHA-256' = '${sha256(EICAR)}']`,
            pattern_type: 'stix',
            valid_from: '2024-01-01T00:00:00Z',
          },
          {
            type: 'indicator',
            spec_version: '2.1',
            id: 'indicator--b2b2b2b2-0000-4000-8000-000000000002',
            created: '2024-01-01T00:00:00Z',
            modified: '2024-01-01T00:00:00Z',
            pattern: "[file:name = 'a'] FOLLOWEDBY [file:name = 'b']",
            pattern_type: 'stix',
            valid_from: '2024-01-01T00:00:00Z',
          },
        ],
      }),
    );
    const rules = join(ws.root, 'hunt.yar');
    writeFileSync(rules, 'rule Task_Marker { strings: $m = "SANDGATE-TASK-YARA-MARKER" condition: $m }\n');
    const agent = await createAgent({
      home: ws.home,
      loaded: await policyFor(ws.root, ws.server),
      appVersion: 'test',
      tasks: { idleSources: [] },
    });
    ws.cleanups.push(() => agent.close());
    const task = await agent.tasks!.createFromFiles([bundle, rules], {
      scope: [scope],
      runMode: 'afterThreat',
      onMatch: { quarantine: false, criticalAreasScan: false },
    });
    expect(task.iocFiles.map((f) => [f.name, f.iocId])).toEqual([
      ['1-feed.json', 'bundle--b2b2b2b2-0000-4000-8000-000000000000'],
      ['2-hunt.yar', '2-hunt.yar'],
    ]);
    expect(task.unsupported).toEqual([
      expect.objectContaining({
        file: '1-feed.json',
        itemId: 'indicator--b2b2b2b2-0000-4000-8000-000000000002',
        term: 'observation operator FOLLOWEDBY',
      }),
    ]);
    const done = await until(() => {
      const t = agent.tasks!.get(task.id);
      return t.state === 'completed' ? t : undefined;
    });
    expect(done.matches.map((m) => [m.path.slice(scope.length + 1), m.format, m.iocId, m.file]).sort()).toEqual([
      ['sub/eicar.com', 'stix', 'indicator--b2b2b2b2-0000-4000-8000-000000000001', '1-feed.json'],
      ['sub/tool.ps1', 'yara', 'Task_Marker', '2-hunt.yar'],
    ]);
  });
});
