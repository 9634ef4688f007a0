import type { Db } from '../db/db.ts';
import type { ChangeNotifier } from '../agent-api/change-notifier.ts';
import type { LoadedSandbox } from '../config/load-console-config.ts';
import { lookUpHash, type LookupResult } from './sandbox-lookup.ts';
import { witnessObject } from './witness-task.ts';

export interface SandboxWitnessOptions {
  db: Db;
  sandbox: LoadedSandbox;
  notifier: ChangeNotifier;
  log?: ((line: string) => void) | undefined;
  /** The look-up itself (tests may count calls); defaults to the Sandgate-protocol client. */
  lookUp?: (sandbox: LoadedSandbox, sha256: string, signal: AbortSignal) => Promise<LookupResult>;
}

/** Objects looked up per round: a burst of new tasks is worked through over a few rounds, not all at once. */
const PER_ROUND = 20;

/**
 * The console's own second witness: for every open group task still waiting for one, asks the configured sandbox
 * servers about its SHA-256 right after the task is made (`kick`) and again every `retryEveryMs` until the task is
 * witnessed, cancelled or expires. A malicious verdict witnesses every open task for that object; any other answer
 * is recorded on the tasks (the task page says what the sandbox said and when).
 */
export class SandboxWitness {
  private readonly o: SandboxWitnessOptions;
  private readonly stop = new AbortController();
  private wake: (() => void) | undefined;
  private kicked = false;
  private loop: Promise<void> | undefined;

  constructor(o: SandboxWitnessOptions) {
    this.o = o;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** A task was made: look now rather than at the next round. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.stop.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const every = Math.min(this.o.sandbox.retryEveryMs, 5000);
    while (!this.stop.signal.aborted) {
      this.kicked = false;
      try {
        await this.round();
      } catch (err) {
        // The database was away: the next round tries again.
        this.o.log?.(`sandbox witness: a round failed (${err instanceof Error ? err.message : String(err)})`);
      }
      if (this.kicked || this.stop.signal.aborted) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, every);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One round: the objects due for a look-up, each asked once. */
  async round(): Promise<void> {
    const { db } = this.o;
    const due = await db.query<{ sha256: string }>(
      `SELECT sha256 FROM group_tasks
        WHERE state = 'open' AND kind = 'threat' AND witnessed_at IS NULL AND expires_at > now()
          AND (witness_lookup_at IS NULL OR witness_lookup_at <= now() - make_interval(secs => $1))
        GROUP BY sha256 ORDER BY min(coalesce(witness_lookup_at, created_at)) LIMIT $2`,
      [this.o.sandbox.retryEveryMs / 1000, PER_ROUND],
    );
    for (const { sha256 } of due) {
      if (this.stop.signal.aborted) return;
      const r = await (this.o.lookUp ?? lookUpHash)(this.o.sandbox, sha256, this.stop.signal).catch((err: unknown): LookupResult => ({
        server: this.o.sandbox.servers[0]!.url,
        outcome: 'failed',
        code: 'SERVER_UNREACHABLE',
        detail: String(err),
      }));
      await db.query(
        "UPDATE group_tasks SET witness_lookup = $2, witness_lookup_at = now() WHERE sha256 = $1 AND kind = 'threat' AND state = 'open' AND witnessed_at IS NULL",
        [sha256, JSON.stringify({ ...r, at: new Date().toISOString() })],
      );
      if (r.outcome !== 'malicious') continue;
      const done = await witnessObject(db, sha256, {
        kind: 'sandbox',
        server: r.server,
        ...(r.threat ? { threat: r.threat } : {}),
        at: new Date().toISOString(),
      });
      for (const w of done) {
        this.o.log?.(`group task ${w.taskId} for ${sha256}: witnessed by the sandbox server ${r.server}; ${w.wake.length} to tell`);
        for (const id of w.wake) this.o.notifier.wakeAgent(id);
      }
    }
  }
}
