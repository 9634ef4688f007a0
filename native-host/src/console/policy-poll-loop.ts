import { readFileSync } from 'node:fs';
import { AGENT_API, pollAnswerSchema, type PollResponse } from '@sandgate/shared';
import { writeFileAtomic } from '@sandgate/shared/durable-write';
import { parsePolicyText } from '../config/load-policy.ts';
import type { Logger } from '../log.ts';
import type { ChannelState } from './channel-state.ts';
import { writeState } from './console-files.ts';
import type { ConsoleSession } from './console-session.ts';
import type { GroupTaskAgent } from './group-task-agent.ts';
import { knownTasks } from './known-tasks.ts';
import type { RestoreRequestAgent } from './restore-request.ts';

export interface PolicyPollOptions {
  session: ConsoleSession;
  agentId: string;
  /** The policy file the agent runs with: a group policy is written here and the policy watcher applies it. */
  policyFile: string;
  /** Where the applied revision is remembered across restarts. */
  policyStateFile: string;
  state: ChannelState;
  /** How long the console may hold a poll. */
  pollWaitMs: number;
  groupTasks: GroupTaskAgent;
  restores: RestoreRequestAgent;
  log: Logger;
}

/** A long-poll for the group's policy and the group tasks and restores meant for this agent. */
export async function policyPollLoop(o: PolicyPollOptions): Promise<void> {
  const b = o.session.backoff();
  // Its own back-off: a poll that works resets `b`, and a renewal that keeps failing must not be asked for every second.
  const offers = o.session.backoff();
  const told = new Set<string>();
  while (!o.session.stopped) {
    try {
      const q = `${AGENT_API.poll}?policyRevision=${o.state.revision}&waitMs=${o.pollWaitMs}`;
      const r = await o.session.call('GET', q, undefined, pollAnswerSchema, o.pollWaitMs + 15_000);
      b.ok();
      if (r.renew || r.trust) await certificateOffer(o, r, offers);
      if (r.policy && r.policy.revision !== o.state.revision) {
        try {
          await applyPolicy(o, r.policy);
        } catch (err) {
          // An unusable policy is not retried in a tight loop: wait as after a failure, then ask again.
          o.log.error('the group policy could not be applied', {
            revision: r.policy.revision,
            error: err instanceof Error ? err.message : String(err),
          });
          await b.fail('policy', err);
        }
      }
      const { tasks, skipped } = knownTasks(r.tasks);
      for (const t of skipped) {
        // The console sends an unacknowledged message with every poll: said once per message, not every 25 s.
        const key = `${t.type ?? '?'}:${t.id ?? '?'}`;
        if (told.has(key)) continue;
        if (told.size > 1000) told.clear();
        told.add(key);
        o.log.warn('a console message this agent cannot read was set aside', { code: 'CONSOLE_RESPONSE_INVALID', ...t });
      }
      if (tasks.length) {
        try {
          await o.groupTasks.handle(tasks.filter((t) => t.type !== 'restore' && t.type !== 'restore-answer'));
          await o.restores.handle(tasks);
        } catch (err) {
          // Not started (the agent is reloading, the console is away): the console delivers them again.
          await b.fail('group task', err);
        }
      }
    } catch (err) {
      await b.fail('poll', err);
    }
  }
}

/**
 * The console's offers on the poll: renew the certificate now (CA rotation, or near its end), or pin other CAs
 * (after a CA retirement). Either is followed by a heartbeat that tells the console the outcome; an offer that
 * changed nothing (a renewal that failed, CAs already pinned) waits as after a failure, since the console answers
 * the next poll with it again at once.
 */
async function certificateOffer(
  o: PolicyPollOptions,
  r: Pick<PollResponse, 'renew' | 'trust'>,
  b: ReturnType<ConsoleSession['backoff']>,
): Promise<void> {
  let changed = false;
  try {
    if (r.renew) {
      const before = o.session.certificateGeneration;
      await o.session.renew(r.renew.reason === 'ca-rotation' ? 'the console rotates its CA' : 'the console says the certificate ends soon');
      changed = o.session.certificateGeneration !== before;
    } else if (r.trust) {
      changed = await o.session.pinCas(r.trust.caCertificates);
    }
  } catch (err) {
    // A renewal that failed, or CAs to pin that were refused: the heartbeat below tells the console where this agent is.
    o.log.error(r.renew ? 'the certificate renewal the console offered failed' : 'the CAs the console sent to pin were refused', {
      error: err instanceof Error ? err.message : String(err),
    });
  }
  await o.session.heartbeatNow();
  if (changed) b.ok();
  else await b.fail('certificate offer', new Error('the offer changed nothing'));
}

async function applyPolicy(
  o: PolicyPollOptions,
  p: { revision: number; group: string | null; policy: Record<string, unknown> | null },
): Promise<void> {
  if (p.policy) {
    const text = JSON.stringify(p.policy, null, 2) + '\n';
    // Validated here as well: a console of another version must not be able to make the agent refuse its policy.
    parsePolicyText(text, `group ${p.group ?? '?'} policy revision ${p.revision}`);
    await writeFileAtomic(o.policyFile, text, 0o600);
    o.log.info('group policy written; the policy watcher applies it', { group: p.group, revision: p.revision, policy: o.policyFile });
  } else {
    o.log.info('no group policy; keeping the local policy', { group: p.group, revision: p.revision });
  }
  o.session.endpoints.setPolicyUrls(p.policy ? consoleUrlsOf(o.policyFile) : undefined);
  o.state.revision = p.revision;
  await writeState(o.policyStateFile, o.agentId, { revision: p.revision });
}

/**
 * `console.urls` of the policy file the agent runs with, when it has one; undefined when the file cannot be read or
 * is not a valid policy (the agent then keeps to its enrollment URL, and the policy watcher reports the file).
 */
export function consoleUrlsOf(policyFile: string): string[] | undefined {
  try {
    return parsePolicyText(readFileSync(policyFile, 'utf8'), policyFile).console?.urls;
  } catch {
    return undefined;
  }
}
