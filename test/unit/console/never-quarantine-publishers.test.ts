import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iocScanTaskSchema, onThreatSchema } from '@sandgate/shared';
import type { Db } from '#console/db/db.ts';
import { migrate } from '#console/db/migrate.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { setGroupActions } from '#console/group-tasks/group-actions-store.ts';
import { deliverableTasks } from '#console/group-tasks/deliverable-tasks.ts';
import { groupFixture } from '#test-helpers/console-group.ts';

const PCA = 'a1'.repeat(32);
const contoso = { name: 'Contoso Ltd', caSha256: [PCA] };

describe("never-quarantine publishers in a group's actions", () => {
  it('takes a name with pinned certificates, and none by default', () => {
    expect(onThreatSchema.parse({ neverQuarantine: { publishers: [contoso] } }).neverQuarantine).toEqual({
      paths: [],
      publishers: [contoso],
    });
    expect(onThreatSchema.parse({}).neverQuarantine).toEqual({ paths: [], publishers: [] });
    expect(onThreatSchema.parse({ neverQuarantine: { paths: ['/opt/corp/'] } }).neverQuarantine.publishers).toEqual([]);
  });

  it('refuses a publisher without a pin, with a malformed pin, or with a field it does not know', () => {
    const bad = [
      { name: 'Contoso Ltd', caSha256: [] },
      { name: 'Contoso Ltd' },
      { name: 'Contoso Ltd', caSha256: [PCA.toUpperCase()] },
      { name: 'Contoso Ltd', caSha256: ['abc'] },
      { name: '', caSha256: [PCA] },
      { name: 'x'.repeat(257), caSha256: [PCA] },
      { name: 'Contoso Ltd', caSha256: Array(21).fill(PCA) },
      { name: 'Contoso Ltd', caSha256: [PCA], anyCa: true },
    ];
    for (const p of bad) expect(onThreatSchema.safeParse({ neverQuarantine: { publishers: [p] } }).success, JSON.stringify(p)).toBe(false);
    expect(onThreatSchema.safeParse({ neverQuarantine: { publishers: Array(101).fill(contoso) } }).success).toBe(false);
  });

  it('reads a share from a console that knows no publishers as one with none', () => {
    const share = iocScanTaskSchema.parse({
      type: 'ioc-scan',
      id: '00000000-0000-4000-8000-000000000001',
      groupTaskId: '00000000-0000-4000-8000-000000000002',
      ioc: '<ioc/>',
      sha256: 'b'.repeat(64),
      scope: 'critical',
      onMatch: { quarantine: true, criticalAreasScan: false },
      dryRun: false,
      neverQuarantine: { paths: ['/opt/corp/'], sha256: [] },
      expiresAt: new Date().toISOString(),
    });
    expect(share.neverQuarantine.publishers).toEqual([]);
  });
});

describe('a group task carries the publishers to every workstation', () => {
  let db: Db;
  let groupId: number;
  const fixture = groupFixture(() => db);
  const agent = () => fixture.member(groupId);
  const threat = (source: string, sha: string) => fixture.threat(groupId, source, sha);

  beforeAll(async () => {
    db = await openPgliteDb(undefined);
    await migrate(db);
    groupId = (await db.query<{ id: number }>("INSERT INTO groups (name) VALUES ('office') RETURNING id"))[0]!.id;
  }, 120_000);
  afterAll(() => db?.close());

  it("delivers the group's publishers in the share, in the shape the agent parses", async () => {
    await setGroupActions(db, groupId, {
      onThreat: { scan: true, quarantineOnMatch: true, neverQuarantine: { paths: ['/opt/corp/'], publishers: [contoso] } },
    });
    const source = await agent();
    const member = await agent();
    const made = (await threat(source, 'c'.repeat(64)))!;
    const [share] = await deliverableTasks(db, member);
    expect(share).toMatchObject({
      type: 'ioc-scan',
      groupTaskId: made.id,
      neverQuarantine: { paths: ['/opt/corp/'], sha256: [], publishers: [contoso] },
    });
    expect(iocScanTaskSchema.parse(share).neverQuarantine.publishers).toEqual([contoso]);
  });

  it('delivers no publishers for a task stored before they existed', async () => {
    const source = await agent();
    const member = await agent();
    const made = (await threat(source, 'd'.repeat(64)))!;
    await db.query("UPDATE group_tasks SET options = jsonb_set(options, '{neverQuarantine}', '{\"paths\": []}') WHERE id = $1", [made.id]);
    const shares = await deliverableTasks(db, member);
    const share = shares.find((s) => s.type === 'ioc-scan' && s.groupTaskId === made.id);
    expect(share).toMatchObject({ neverQuarantine: { paths: [], sha256: [], publishers: [] } });
  });
});
