import { randomBytes } from 'node:crypto';
import type { Db } from '../db/db.ts';
import type { ChangeNotifier, WakeRelay } from './change-notifier.ts';

/** The channel every console process on one database LISTENs on. */
export const WAKE_CHANNEL = 'sandgate_wake';

/** PostgreSQL refuses a payload of 8,000 bytes or more; ids are packed into messages below this. */
const MAX_PAYLOAD = 7_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GROUP_ID = /^[1-9][0-9]{0,15}$/;
const MESSAGE = /^([0-9a-f]{16}) ([ag]) (.+)$/;

export interface RunningWakeRelay {
  close(): Promise<void>;
}

/**
 * Wake-ups between console processes sharing one PostgreSQL server: `NOTIFY sandgate_wake` with
 * `<process> a <agent id> <agent id>…` or `<process> g <group id>…`, nothing else. A payload carries row ids only,
 * never a policy, a token or a task: anyone who can LISTEN on the database can read them, and a message only makes a
 * poll look at the database again (what it then carries comes from the database, as always). Wake-ups made in one
 * turn of the event loop are sent together (a task released to 10,000 workstations is ~55 messages, not 10,000).
 * A process ignores its own messages (it woke its polls already). After the LISTEN connection was lost, every waiting
 * poll looks again, since wake-ups sent meanwhile are gone.
 *
 * Undefined for PGlite: one process holds the database, so the in-process wake-ups are all there are.
 */
export async function startWakeRelay(db: Db, notifier: ChangeNotifier, log: (line: string) => void): Promise<RunningWakeRelay | undefined> {
  if (!db.listen) return undefined;
  const self = randomBytes(8).toString('hex');
  const agents = new Set<string>();
  const groups = new Set<number>();
  let scheduled = false;
  let sending: Promise<void> = Promise.resolve();

  // Every message of one turn in one statement: sent one after another, each waiting for a connection of a pool busy
  // with the fan-out, the last of a 10,000-agent wake-up reached the other process seconds after the first.
  const send = async (kind: 'a' | 'g', ids: string[]) => {
    const messages: string[] = [];
    let line = '';
    for (const id of ids) {
      if (line && line.length + id.length + 1 > MAX_PAYLOAD) {
        messages.push(`${self} ${kind}${line}`);
        line = '';
      }
      line += ` ${id}`;
    }
    if (line) messages.push(`${self} ${kind}${line}`);
    if (messages.length) await db.query('SELECT pg_notify($1, m) FROM unnest($2::text[]) AS m', [WAKE_CHANNEL, messages]);
  };
  const flush = () => {
    scheduled = false;
    const a = [...agents];
    const g = [...groups].map(String);
    agents.clear();
    groups.clear();
    sending = sending
      .then(() => send('g', g))
      .then(() => send('a', a))
      .catch((err: unknown) => {
        // The other processes' agents then get the change with their next poll (at most one poll wait later).
        log(`wake-ups could not be sent to the other console processes: ${err instanceof Error ? err.message : String(err)}`);
      });
  };
  const later = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  const relay: WakeRelay = {
    agent(id) {
      agents.add(id);
      later();
    },
    group(id) {
      groups.add(id);
      later();
    },
  };

  const onMessage = (payload: string) => {
    const m = MESSAGE.exec(payload);
    if (!m || m[1] === self) return;
    for (const id of m[3]!.split(' ')) {
      if (m[2] === 'a' && UUID.test(id)) notifier.deliverAgent(id);
      else if (m[2] === 'g' && GROUP_ID.test(id)) notifier.deliverGroup(Number(id));
    }
  };
  const unlisten = await db.listen(WAKE_CHANNEL, onMessage, () => {
    log('the LISTEN connection to the database was made again; every waiting poll looks again');
    notifier.deliverAll();
  });
  notifier.setRelay(relay);
  return {
    async close() {
      notifier.setRelay(undefined);
      // Wake-ups of this last turn still go out.
      if (scheduled) flush();
      await sending;
      await unlisten();
    },
  };
}
