import { SandgateError, type ConsoleTask, type RestoreAnswerTask, type RestoreItemOutcome, type RestoreProgress } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { QuarantineStore } from '../quarantine/quarantine-store.ts';
import { recordAnswer, recordRestoreOutcome } from '../quarantine/restore-asks.ts';

type RestoreTask = Extract<ConsoleTask, { type: 'restore' }>;

export interface RestoreRequestOptions {
  home: string;
  log: Logger;
  /** Sends the outcome; throws when the console cannot be reached. */
  report: (p: RestoreProgress) => Promise<void>;
}

/**
 * Carries out a console restore (a false positive): every quarantine item with the SHA-256 goes back to its original
 * place through the quarantine's own restore, which never writes over a file and never through a link; each item is
 * reported restored or refused with its code. Nothing is kept on disk: a message delivered again (the report was lost)
 * finds the restored items gone from the quarantine and reports the rest.
 */
export async function runRestoreRequest(o: RestoreRequestOptions, t: RestoreTask): Promise<RestoreProgress> {
  if (Date.parse(t.expiresAt) <= Date.now()) return { taskId: t.id, state: 'expired', items: [] };
  const store = QuarantineStore.open(o.home);
  let listing;
  try {
    listing = store.listItems();
  } catch (err) {
    const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', (err as Error).message);
    return { taskId: t.id, state: 'failed', items: [], error: { code: e.code, message: e.message.slice(0, 2000) } };
  }
  const items: RestoreItemOutcome[] = [];
  for (const item of listing.items.filter((i) => i.sha256 === t.sha256)) {
    try {
      const { path } = await store.restore(item.id);
      items.push({ quarantineId: item.id, path, outcome: 'restored' });
      await recordRestoreOutcome(o.home, { quarantineId: item.id, outcome: 'restored', path, at: new Date() }).catch(() => undefined);
      o.log.info('restored on the console’s request', { quarantineId: item.id, path, request: t.groupTaskId });
    } catch (err) {
      const code = err instanceof SandgateError ? err.code : 'INTERNAL';
      const message = (err as Error).message.slice(0, 2000);
      items.push({ quarantineId: item.id, path: item.originalPath, outcome: 'refused', code, message });
      // The person who asked sees the refusal, never "restored".
      await recordRestoreOutcome(o.home, { quarantineId: item.id, outcome: 'refused', code, message, at: new Date() }).catch(
        () => undefined,
      );
      o.log.warn('a restore asked by the console was refused', { quarantineId: item.id, path: item.originalPath, code });
    }
  }
  return { taskId: t.id, state: 'done', items };
}

/** Runs each restore message once per agent run and sends its outcome, retrying the report a few times. */
export class RestoreRequestAgent {
  private readonly o: RestoreRequestOptions;
  private readonly seen = new Map<string, RestoreProgress>();

  constructor(o: RestoreRequestOptions) {
    this.o = o;
  }

  async handle(list: readonly ConsoleTask[]): Promise<void> {
    for (const t of list) {
      if (t.type === 'restore-answer') {
        await this.answer(t);
        continue;
      }
      if (t.type !== 'restore') continue;
      let outcome = this.seen.get(t.id);
      if (!outcome) {
        outcome = await runRestoreRequest(this.o, t);
        this.seen.set(t.id, outcome);
      }
      // A failed report throws: the console offers the message again with the next poll, and the same outcome is sent.
      await this.o.report(outcome);
    }
  }

  /**
   * An administrator's answer to the person's "Ask for restore" (issue 17): written where the popup reads it, then
   * acknowledged (a `restore-progress` report with the request's id). An approval's restore came as its own `restore`
   * message; what it did is what the person sees.
   */
  private async answer(t: RestoreAnswerTask): Promise<void> {
    await recordAnswer(this.o.home, { quarantineId: t.quarantineId, sha256: t.sha256, decision: t.decision, reason: t.reason, at: t.at });
    this.o.log.info('an administrator answered a restore request', { request: t.id, decision: t.decision, quarantineId: t.quarantineId });
    await this.o.report({ taskId: t.id, state: 'done', items: [] });
  }
}
