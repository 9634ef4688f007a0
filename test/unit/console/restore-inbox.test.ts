import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandgateError, type ShippedEvent } from '@sandgate/shared';
import type { Db } from '#console/db/db.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { migrate } from '#console/db/migrate.ts';
import {
  acknowledgeRestoreAnswer,
  answerRestoreRequest,
  deliverableRestoreAnswers,
  listRestoreInbox,
  recordRestoreAsks,
} from '#console/restore/restore-inbox.ts';
import { deliverableRestores } from '#console/restore/restore-requests.ts';
import { storeEvents } from '#console/agents/store-events.ts';
import { audit, readAudit } from '#console/audit/audit-log.ts';

const SHA = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);

let seq = 0;
const asked = (sha256: string, over: Partial<ShippedEvent['event']> = {}): ShippedEvent => ({
  seq: ++seq,
  event: {
    time: new Date().toISOString(),
    type: 'restore-requested',
    sha256,
    quarantineId: 'q'.repeat(32),
    path: '/home/ada/Downloads/invoice.exe',
    threat: 'EICAR-Test-File',
    level: 'malicious',
    user: 'ada',
    ...over,
  },
});

const q = (state: 'open' | 'approved' | 'declined' = 'open') => ({ state, limit: 50, offset: 0 });

// The inbox an administrator answers employees' "Ask for restore" from: filled by the agents' events, one open request
// per workstation and object, each answered once.
describe('the restore-requests inbox', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openPgliteDb(undefined);
    await migrate(db);
    await db.query(`INSERT INTO groups (name) VALUES ('office')`);
    await db.query(
      `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, group_id)
       SELECT 'agent-' || i, 'ws-' || i, 'serial-' || i, 'sha', now() + interval '1 year', (SELECT id FROM groups WHERE name = 'office')
         FROM generate_series(1, 3) AS i`,
    );
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('a request is kept with the event that carries it: when the inbox cannot take it, the event is not stored either, and the re-sent batch brings both', async () => {
    const batch = [{ ...asked('ef'.repeat(32)), seq: 1 }];
    const failing = async () => {
      throw new Error('the inbox is unavailable');
    };
    await expect(storeEvents(db, 'agent-3', batch, failing)).rejects.toThrow('the inbox is unavailable');
    expect(await db.query(`SELECT seq FROM agent_events WHERE agent_id = 'agent-3'`)).toHaveLength(0);
    const stored = await storeEvents(db, 'agent-3', batch, (tx, fresh) => recordRestoreAsks(tx, 'agent-3', fresh));
    expect(stored.accepted).toBe(1);
    expect(await db.query(`SELECT id FROM restore_inbox WHERE agent_id = 'agent-3' AND sha256 = $1`, ['ef'.repeat(32)])).toHaveLength(1);
    // Gone again: the scenarios below count the inbox from empty.
    await db.query(`DELETE FROM restore_inbox WHERE agent_id = 'agent-3'`);
  });

  it('a request asked twice while open is one request; other events and bad hashes are not requests', async () => {
    expect(await recordRestoreAsks(db, 'agent-1', [asked(SHA), asked(SHA)])).toBe(1);
    expect(await recordRestoreAsks(db, 'agent-1', [asked(SHA)])).toBe(0);
    expect(
      await recordRestoreAsks(db, 'agent-1', [
        { seq: ++seq, event: { time: new Date().toISOString(), type: 'restored', sha256: OTHER } },
        asked('not-a-hash'),
      ]),
    ).toBe(0);
    // Another workstation asking for the same object has its own request.
    expect(await recordRestoreAsks(db, 'agent-2', [asked(SHA)])).toBe(1);
    const page = await listRestoreInbox(db, q());
    expect(page.total).toBe(2);
    expect(page.requests[0]).toMatchObject({
      hostname: 'ws-1',
      fileName: 'invoice.exe',
      threat: 'EICAR-Test-File',
      askedBy: 'ada',
      state: 'open',
    });
  });

  it('declined once: the reason reaches the workstation until it acknowledges; a second answer is a conflict', async () => {
    const id = (await listRestoreInbox(db, q())).requests.find((r) => r.agentId === 'agent-1')!.id;
    const out = await answerRestoreRequest(db, id, { decision: 'declined', reason: 'it really is malware' }, 'user:ada');
    expect(out.wake).toEqual(['agent-1']);
    expect(out.request).toMatchObject({ state: 'declined', reason: 'it really is malware', answeredBy: 'user:ada' });
    const again = await answerRestoreRequest(db, id, { decision: 'approved' }, 'user:bob').catch((e: unknown) => e);
    expect(again).toBeInstanceOf(SandgateError);
    expect(again).toMatchObject({ code: 'CONSOLE_CONFLICT', params: { reason: 'already-answered', state: 'declined' } });

    const answers = await deliverableRestoreAnswers(db, 'agent-1');
    expect(answers).toEqual([
      expect.objectContaining({ type: 'restore-answer', id, decision: 'declined', reason: 'it really is malware' }),
    ]);
    // Not another workstation's, and no longer once acknowledged.
    expect(await acknowledgeRestoreAnswer(db, 'agent-2', id)).toBe(false);
    expect(await acknowledgeRestoreAnswer(db, 'agent-1', id)).toBe(true);
    expect(await deliverableRestoreAnswers(db, 'agent-1')).toEqual([]);
    // Declined, the person may ask again: a new open request.
    expect(await recordRestoreAsks(db, 'agent-1', [asked(SHA)])).toBe(1);
  });

  it('a workstation cannot acknowledge (answer) its own open request', async () => {
    const open = (await listRestoreInbox(db, q())).requests.find((r) => r.agentId === 'agent-2')!;
    expect(await acknowledgeRestoreAnswer(db, 'agent-2', open.id)).toBe(false);
    expect((await listRestoreInbox(db, q())).requests.find((r) => r.id === open.id)!.state).toBe('open');
  });

  it('two answers at once: exactly one wins, and an approval sends the workstation one restore', async () => {
    const open = (await listRestoreInbox(db, q())).requests.find((r) => r.agentId === 'agent-2')!;
    const results = await Promise.allSettled([
      answerRestoreRequest(db, open.id, { decision: 'approved' }, 'user:ada'),
      answerRestoreRequest(db, open.id, { decision: 'declined', reason: 'no' }, 'user:bob'),
      answerRestoreRequest(db, open.id, { decision: 'approved' }, 'user:cy'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'CONSOLE_CONFLICT', params: { reason: 'already-answered' } });
    const won = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ request: { state: string } }>).value;
    const tasks = [...(await deliverableRestores(db, 'agent-2')), ...(await deliverableRestoreAnswers(db, 'agent-2'))];
    if (won.request.state === 'approved') {
      expect(tasks.map((t) => t.type)).toEqual(['restore', 'restore-answer']);
      expect(tasks[1]).toMatchObject({ decision: 'approved', restoreId: (tasks[0] as { groupTaskId?: string }).groupTaskId });
    } else {
      expect(tasks.map((t) => t.type)).toEqual(['restore-answer']);
    }
  });

  it('an approval the console cannot carry out (the workstation was revoked) leaves the request open', async () => {
    await recordRestoreAsks(db, 'agent-3', [asked(OTHER)]);
    const open = (await listRestoreInbox(db, q())).requests.find((r) => r.agentId === 'agent-3')!;
    await db.query(`UPDATE agents SET revoked_at = now() WHERE id = 'agent-3'`);
    await expect(answerRestoreRequest(db, open.id, { decision: 'approved' }, 'user:ada')).rejects.toMatchObject({
      code: 'CONSOLE_NOT_FOUND',
    });
    expect((await listRestoreInbox(db, q())).requests.find((r) => r.id === open.id)!.state).toBe('open');
  });

  it('lists by state with counts and pages', async () => {
    const declined = await listRestoreInbox(db, q('declined'));
    expect(declined.counts.declined).toBeGreaterThanOrEqual(1);
    expect(declined.requests.every((r) => r.state === 'declined')).toBe(true);
    const first = await listRestoreInbox(db, { state: 'open', limit: 1, offset: 0 });
    const second = await listRestoreInbox(db, { state: 'open', limit: 1, offset: 1 });
    expect(first.requests).toHaveLength(1);
    expect(second.requests[0]?.id).not.toBe(first.requests[0]!.id);
  });

  it('the audit log names an answered request by its file and workstation', async () => {
    const row = (await listRestoreInbox(db, q('declined'))).requests[0]!;
    await audit(db, { actor: 'user:ada', action: 'restore-request.decline', target: row.id, outcome: 'ok' });
    const [entry] = await readAudit(db, 1);
    expect(entry).toMatchObject({ action: 'restore-request.decline', target: row.id, target_name: 'invoice.exe on ws-1' });
  });
});
