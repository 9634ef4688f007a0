import { consoleTaskSchema, type ConsoleTask } from '@sandgate/shared';

export interface SkippedTask {
  /** The message's `type` and `id` when it has them (what the log names). */
  type?: string;
  id?: string;
  problem: string;
}

const named = (v: unknown, key: string): string | undefined => {
  if (typeof v !== 'object' || v === null || !(key in v)) return undefined;
  const x = (v as Record<string, unknown>)[key];
  return typeof x === 'string' ? x.slice(0, 64) : undefined;
};

/**
 * The console's messages of one poll, each checked on its own. A message this agent does not know (a newer console's
 * type) or cannot read is set aside, so it costs that message only: the poll's policy and its other tasks still apply.
 * Before this, one such message made the agent refuse the whole answer, and with it every later poll that carried it.
 */
export function knownTasks(raw: readonly unknown[]): { tasks: ConsoleTask[]; skipped: SkippedTask[] } {
  const tasks: ConsoleTask[] = [];
  const skipped: SkippedTask[] = [];
  for (const t of raw) {
    const parsed = consoleTaskSchema.safeParse(t);
    if (parsed.success) {
      tasks.push(parsed.data);
      continue;
    }
    const type = named(t, 'type');
    const id = named(t, 'id');
    skipped.push({
      ...(type !== undefined ? { type } : {}),
      ...(id !== undefined ? { id } : {}),
      problem: parsed.error.issues[0]?.message ?? 'not a console message',
    });
  }
  return { tasks, skipped };
}
