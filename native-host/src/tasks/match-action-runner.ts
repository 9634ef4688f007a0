import { join } from 'node:path';
import type { Task, TaskMatch } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import type { QuarantineContext } from '../quarantine/quarantine-context.ts';
import { matchActionEvents, quarantineMatch } from './match-actions.ts';
import {
  ALLOWED_FALSE_POSITIVE,
  AWAITING_WITNESS,
  NEVER_QUARANTINE_PUBLISHER,
  NOT_THE_OBJECT,
  guardDecision,
  readTaskGuard,
  type GuardDecision,
} from './task-guard.ts';
import type { CreateTaskInput } from './task-service.ts';
import type { TaskStore } from './task-store.ts';

export interface MatchActionDeps {
  store: TaskStore;
  quarantine: QuarantineContext;
  log: Logger;
  /** `response.allowSha256`: known false positives, never quarantined. */
  allowSha256: readonly string[];
  /** Creates a task (the Critical Areas Scan a match asks for). */
  create(input: CreateTaskInput): Promise<Task>;
}

/**
 * Every pending action of every match, each saved with its event as soon as it is done, so a crash repeats none and
 * loses none (each action finds its own earlier work). A console task's guard is read again before every quarantine.
 */
export async function runMatchActions(deps: MatchActionDeps, t: Task): Promise<Task> {
  for (let i = 0; i < t.matches.length; i++) {
    for (let j = 0; j < t.matches[i]!.actions.length; j++) {
      const match = t.matches[i]!;
      if (match.actions[j]!.status !== 'pending') continue;
      let done: TaskMatch['actions'][number];
      let casId: string | undefined;
      if (match.actions[j]!.type === 'quarantine') {
        const onPublisherRefused = (reason: string) =>
          deps.log.info('not exempted by the never-quarantine publishers', { taskId: t.id, path: match.path, reason });
        const d = await guardDecision(readTaskGuard(join(deps.store.dir, t.id)), match, {
          onPublisherRefused,
          allowSha256: deps.allowSha256,
        });
        done = d ? skippedByGuard(d) : await quarantineMatch(deps.quarantine, t, match);
      } else {
        casId = await criticalAreasScanFor(deps, t, match);
        done = { type: 'critical-areas-scan', status: 'done', id: casId };
      }
      const actions = match.actions.map((a, k) => (k === j ? done : a));
      t = await deps.store.save(
        {
          ...t,
          matches: t.matches.map((m, k) => (k === i ? { ...m, actions } : m)),
          ...(casId ? { criticalAreasScanTaskId: casId } : {}),
          updatedAt: deps.quarantine.clock.now().toISOString(),
        },
        matchActionEvents(t, match, done),
      );
    }
  }
  return t;
}

/** One Critical Areas Scan per task, after its first match; found again if a crash came between creating and recording it. */
async function criticalAreasScanFor(deps: MatchActionDeps, t: Task, match: TaskMatch): Promise<string> {
  if (t.criticalAreasScanTaskId) return t.criticalAreasScanTaskId;
  const earlier = deps.store.list().find((x) => x.kind === 'critical-areas' && x.parentTaskId === t.id);
  if (earlier) return earlier.id;
  const cas = await deps.create({
    kind: 'critical-areas',
    createdBy: 'task',
    parentTaskId: t.id,
    scope: 'critical',
    runMode: 'afterThreat',
    onMatch: { quarantine: false, criticalAreasScan: false },
    iocs: [],
    ...(match.sha256 ? { sha256: [match.sha256] } : {}),
  });
  return cas.id;
}

const GUARD_MESSAGE = {
  'dry-run': 'dry run: would be quarantined (the console group task acts on nothing)',
  'never-quarantine': "on the group's never-quarantine list: reported, not quarantined",
} as const;

/** Console-task refusals the report tells apart by their code. */
const GUARD_CODED = {
  'not-the-object': {
    code: NOT_THE_OBJECT,
    message: "its SHA-256, computed while reading it, is not the group task's object: reported, never quarantined",
  },
  'awaiting-witness': {
    code: AWAITING_WITNESS,
    message: 'the object of the group task: quarantined once the console has a second witness',
  },
} as const;

/** A publisher's keep carries a code, so the report can say "kept" without reading the file's signature again. */
function skippedByGuard(d: GuardDecision): TaskMatch['actions'][number] {
  if (d.why === 'never-quarantine' && d.rule === 'publisher') {
    return {
      type: 'quarantine',
      status: 'skipped',
      code: NEVER_QUARANTINE_PUBLISHER,
      message: `signed by ${JSON.stringify(d.publisher)}, a never-quarantine publisher of the group: reported, not quarantined`,
    };
  }
  if (d.why === 'never-quarantine' && d.rule === 'allowed') {
    return {
      type: 'quarantine',
      status: 'skipped',
      code: ALLOWED_FALSE_POSITIVE,
      message: 'a known false positive (response.allowSha256): reported, not quarantined',
    };
  }
  if (d.why === 'not-the-object' || d.why === 'awaiting-witness') return { type: 'quarantine', status: 'skipped', ...GUARD_CODED[d.why] };
  return { type: 'quarantine', status: 'skipped', message: GUARD_MESSAGE[d.why] };
}
