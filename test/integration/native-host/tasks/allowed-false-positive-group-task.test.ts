import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgent } from '#native-host/agent/agent.ts';
import { EICAR, policyFor, sha256, runConsoleShare, useTaskWorkspace } from './task-fixtures.ts';

// A console group task hunts two hashes; the workstation's policy lists one of them as a known false positive
// (`response.allowSha256`). That copy is kept and reported as such; the other is quarantined as the task asks.

const ws = useTaskWorkspace('sg-allowed-task-', { consoleFolder: true });

describe('a group task that matches a known false positive', () => {
  it('keeps the allowed object (kept-never-quarantine, ALLOWED_FALSE_POSITIVE) and quarantines the other match', async () => {
    const allowedBytes = Buffer.from(EICAR);
    const otherBytes = Buffer.from(EICAR + '\r\n');
    const scope = join(ws.root, 'data');
    mkdirSync(scope, { recursive: true });
    const keptPath = join(scope, 'allowed.com');
    const strayPath = join(scope, 'other.com');
    writeFileSync(keptPath, allowedBytes);
    writeFileSync(strayPath, otherBytes);

    const loaded = await policyFor(ws.root, ws.server, { response: { allowSha256: [sha256(allowedBytes)] } });
    const agent = await createAgent({ home: ws.home, loaded, appVersion: 'test', tasks: { idleSources: [] } });
    ws.cleanups.push(() => agent.close());
    const done = await runConsoleShare({ home: ws.home, agent, hashes: [sha256(allowedBytes), sha256(otherBytes)], scope });
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
