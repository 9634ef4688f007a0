import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layerViolations, packageViolations, parseRule, readSources, ruleDefects } from '#test-helpers/layer-rule.ts';

// native-host/README.md's table says which room may import which; this holds the code to it, so "domain never
// imports transport" stays true without anyone having to remember it.

const repo = join(import.meta.dirname, '../..');
const readme = readFileSync(join(repo, 'native-host/README.md'), 'utf8');
const rule = parseRule(readme);

describe('the native host keeps its layer rule', () => {
  it('reads a rule from the README: every room, the transport rooms and what every room may import', () => {
    expect(rule.allowed.size).toBeGreaterThan(15);
    expect([...rule.transport].sort()).toEqual(['bin', 'cli', 'install', 'ipc', 'router.ts', 'stdio']);
    expect([...rule.everywhere].sort()).toEqual(['clock.ts', 'crash-point.ts', 'log.ts']);
  });

  it('has a rule that lets no domain room import transport and has no cycle between rooms', () => {
    expect(ruleDefects(rule)).toEqual([]);
  });

  it('has no import the rule does not allow, and no folder the table does not name', () => {
    expect(layerViolations(rule, readSources(join(repo, 'native-host/src')))).toEqual([]);
  });

  it('would catch a domain room reaching into transport, a room missing from the table, and a cycle allowed by it', () => {
    const planted = [
      { path: 'queue/request-queue.ts', imports: ['../ipc/client.ts', '../events/event-log.ts', '../log.ts', './queue-record.ts'] },
      { path: 'newroom/thing.ts', imports: [] },
    ];
    expect(layerViolations(rule, planted)).toEqual([
      'queue/request-queue.ts: imports ipc/client.ts (queue may not import ipc)',
      'newroom/thing.ts: the room newroom is not in the table',
    ]);
    const loosened = parseRule(readme.replace('| `events/`, `durable/` |', '| `events/`, `durable/`, `actions/`, `cli/` |'));
    expect(ruleDefects(loosened)).toEqual([
      'queue: a domain room is allowed the transport room cli',
      expect.stringMatching(/^the table allows a cycle: .*queue.*actions|^the table allows a cycle: .*actions.*queue/),
    ]);
  });
});

describe('each product imports only @sandgate/shared of the other workspaces', () => {
  const packages = ['shared/src', 'native-host/src', 'sandbox-server/src', 'console/src', 'extension/entrypoints', 'extension/utils'];
  for (const dir of packages) {
    it(`${dir} imports no other product, by name or by path`, () => {
      const own = dir.split('/')[0]!;
      expect(
        packageViolations(
          join(repo, own),
          readSources(join(repo, dir)).map((f) => ({ ...f, path: join(dir.split('/').slice(1).join('/'), f.path) })),
          own,
        ),
      ).toEqual([]);
    });
  }

  it('would catch a product importing another by name or by a path out of its package', () => {
    const planted = [{ path: 'src/agent/agent.ts', imports: ['@sandgate/console', '../../../console/src/db/db.ts', '@sandgate/shared'] }];
    expect(packageViolations(join(repo, 'native-host'), planted, 'native-host')).toEqual([
      'src/agent/agent.ts: imports @sandgate/console',
      'src/agent/agent.ts: imports ../../../console/src/db/db.ts, outside its package',
    ]);
  });
});
