import { describe, expect, it } from 'vitest';
import type { Db } from '#console/db/db.ts';
import { ChangeNotifier } from '#console/agent-api/change-notifier.ts';
import { startWakeRelay, WAKE_CHANNEL } from '#console/agent-api/wake-relay.ts';

const AGENT = '11111111-2222-4333-8444-555555555555';
const OTHER_PROCESS = '0123456789abcdef';

/** A database whose NOTIFYs are recorded and whose LISTEN hands its callbacks to the test. */
function fakeDb() {
  const sent: string[] = [];
  const statements = { notify: 0 };
  const listener: { onMessage?: (p: string) => void; onGap?: () => void } = {};
  const db = {
    kind: 'postgres',
    async query(sql: string, params?: unknown[]) {
      if (sql.includes('pg_notify') && params?.[0] === WAKE_CHANNEL) {
        statements.notify++;
        const payloads = params[1];
        for (const m of Array.isArray(payloads) ? payloads : [payloads]) sent.push(String(m));
      }
      return [];
    },
    async exec() {},
    async transaction() {
      throw new Error('not used');
    },
    async close() {},
    async listen(_channel: string, onMessage: (p: string) => void, onGap: () => void) {
      listener.onMessage = onMessage;
      listener.onGap = onGap;
      return async () => {};
    },
  } as unknown as Db;
  return { db, sent, listener, statements };
}

const tick = () => new Promise((r) => setImmediate(r));
const settled = async (p: Promise<unknown>) =>
  Promise.race([
    p.then(() => true),
    tick()
      .then(tick)
      .then(() => false),
  ]);

describe('wake-ups between console processes (LISTEN/NOTIFY)', () => {
  it('a wake-up made here is sent as ids only, once per turn, and not delivered here twice', async () => {
    const { db, sent, listener } = fakeDb();
    const notifier = new ChangeNotifier();
    const relay = (await startWakeRelay(db, notifier, () => {}))!;
    notifier.wakeGroup(7);
    notifier.wakeAgent(AGENT);
    notifier.wakeAgent(AGENT);
    await tick();
    await tick();
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/^[0-9a-f]{16} g 7$/);
    expect(sent[1]).toMatch(new RegExp(`^[0-9a-f]{16} a ${AGENT}$`));
    // Its own message comes back through LISTEN: ignored (its polls were woken when the wake-up was made).
    const mark = notifier.mark(AGENT);
    listener.onMessage!(sent[1]!);
    expect(notifier.mark(AGENT)).toBe(mark);
    await relay.close();
  });

  it("another process's message wakes the polls waiting here; a malformed one wakes nothing", async () => {
    const { db, listener } = fakeDb();
    const notifier = new ChangeNotifier();
    const relay = (await startWakeRelay(db, notifier, () => {}))!;
    const byAgent = notifier.wait(AGENT, null, new AbortController().signal);
    const byGroup = notifier.wait('22222222-2222-4222-8222-222222222222', 42, new AbortController().signal);
    listener.onMessage!(`${OTHER_PROCESS} a not-a-uuid`);
    listener.onMessage!(`${OTHER_PROCESS} g 42; DROP TABLE agents`);
    listener.onMessage!(`nonsense`);
    expect(await settled(byAgent)).toBe(false);
    expect(await settled(byGroup)).toBe(false);
    listener.onMessage!(`${OTHER_PROCESS} a ${AGENT}`);
    listener.onMessage!(`${OTHER_PROCESS} g 42`);
    expect(await settled(byAgent)).toBe(true);
    expect(await settled(byGroup)).toBe(true);
    await relay.close();
  });

  it('after the LISTEN connection was lost and made again, every waiting poll looks again', async () => {
    const { db, listener } = fakeDb();
    const notifier = new ChangeNotifier();
    const relay = (await startWakeRelay(db, notifier, () => {}))!;
    const polls = [AGENT, '33333333-3333-4333-8333-333333333333'].map((id) => notifier.wait(id, null, new AbortController().signal));
    listener.onGap!();
    expect(await Promise.all(polls.map(settled))).toEqual([true, true]);
    await relay.close();
  });

  it('10,000 agents woken at once go in messages under PostgreSQL payload limit, each id once, all in one statement', async () => {
    const { db, sent, statements } = fakeDb();
    const notifier = new ChangeNotifier();
    const relay = (await startWakeRelay(db, notifier, () => {}))!;
    const ids = Array.from({ length: 10_000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    for (const id of ids) notifier.wakeAgent(id);
    await relay.close();
    expect(sent.every((p) => Buffer.byteLength(p) < 8000)).toBe(true);
    expect(sent.length).toBeLessThan(100);
    expect(statements.notify).toBe(1);
    expect(sent.flatMap((p) => p.split(' ').slice(2)).sort()).toEqual(ids);
  });

  it('PGlite (no LISTEN): no relay, the wake-ups stay in this process', async () => {
    const { db } = fakeDb();
    delete (db as { listen?: unknown }).listen;
    expect(await startWakeRelay(db, new ChangeNotifier(), () => {})).toBeUndefined();
  });
});
