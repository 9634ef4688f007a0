import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '#native-host/agent/agent.ts';
import { codeSigningIdentity, requireOsslsigncode, signPe, type SigningIdentity } from '#test-helpers/code-signing.ts';
import { makePeFile } from '#test-helpers/pe-file.ts';
import { makeCa } from '#test-helpers/pki.ts';
import { policyFor, sha256, runConsoleShare, useTaskWorkspace } from './task-fixtures.ts';

const ws = useTaskWorkspace('sg-publisher-', { consoleFolder: true });
let contoso: SigningIdentity;

beforeAll(() => {
  requireOsslsigncode();
  contoso = codeSigningIdentity(
    makeCa('Sandgate Test Root'),
    { organization: 'Contoso Ltd', commonName: 'Contoso Code Signing' },
    { intermediate: true },
  );
}, 60_000);

describe('a group task whose never-quarantine list names a publisher', () => {
  it('keeps the copy signed by the pinned publisher and quarantines the same program unsigned elsewhere', async () => {
    const program = makePeFile({ code: Buffer.from('the same program, signed or not') });
    const signed = signPe(program, contoso);
    const scope = join(ws.root, 'data');
    const keptPath = join(scope, 'vendor', 'tool.exe');
    const strayPath = join(scope, 'downloads', 'tool.exe');
    mkdirSync(join(scope, 'vendor'), { recursive: true });
    mkdirSync(join(scope, 'downloads'), { recursive: true });
    writeFileSync(keptPath, signed);
    writeFileSync(strayPath, program);

    const agent = await createAgent({
      home: ws.home,
      loaded: await policyFor(ws.root, ws.server),
      appVersion: 'test',
      tasks: { idleSources: [] },
    });
    ws.cleanups.push(() => agent.close());
    const done = await runConsoleShare({
      home: ws.home,
      agent,
      hashes: [sha256(signed), sha256(program)],
      scope,
      neverQuarantine: { publishers: [{ name: 'contoso ltd', caSha256: [contoso.intermediateSha256!] }] },
    });
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
      {
        type: 'quarantine',
        status: 'skipped',
        code: 'NEVER_QUARANTINE_PUBLISHER',
        message: 'signed by "contoso ltd", a never-quarantine publisher of the group: reported, not quarantined',
      },
    ]);
  });
});
