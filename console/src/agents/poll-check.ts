import type { Queryable } from '../db/db.ts';
import { deliverableTasksFrom } from '../group-tasks/deliverable-tasks.ts';
import { deliverableRestoresFrom } from '../restore/restore-requests.ts';
import { deliverableAnswersFrom } from '../restore/restore-inbox.ts';
import { checkCallers, type AgentIdentityRow } from './agents.ts';

export interface PollCheck {
  id: string;
  groupId: number | null;
  /** As `policyForAgent` counts it: 0 without a group. */
  policyRevision: number;
  /** A task or cancel is waiting to be carried. */
  hasTasks: boolean;
  /** A restore is waiting to be carried. */
  hasRestores: boolean;
  /** An answer to an employee's restore request is waiting to be carried (issue 17). */
  hasAnswers: boolean;
  /** The agent should renew its certificate now (CA rotation, or near its end); only for agents that report what they pin. */
  renew: 'ca-rotation' | 'expiry' | undefined;
  /** The agent pins other CAs than the console's, and its certificate is already from the renewal CA: send the CAs. */
  trustDue: boolean;
}

/** What the poll needs to know of the console CA (a rotation replaces these in place). */
export interface PollCa {
  fingerprint: string;
  renewalFingerprint: string;
  trustFingerprints: string[];
}

/** An agent is offered a renewal this long before its certificate ends (as the agent itself decides: cert-renewal.ts). */
const RENEW_BEFORE_DAYS = 30;

/** Who asks: the agent id and the serial of the certificate its connection presented. */
export interface PollCaller {
  agentId: string;
  certSerial: string;
}

type PollRow = AgentIdentityRow & {
  group_name: string | null;
  policy_revision: number | null;
  has_tasks: boolean;
  has_restores: boolean;
  has_answers: boolean;
  renew_ca: boolean;
  renew_expiry: boolean;
  trust_due: boolean;
};

/**
 * Everything a long-poll needs to decide whether to answer, for many polls in one statement: who each caller is (the
 * checks of `authenticateAgent`), its group's policy revision, and whether anything waits for it. A poll runs this
 * when it arrives and when its wait ends, so with 10,000 agents it runs some 800 times a second, and a group task
 * wakes every member's poll at once: one statement per poll then queued thousands on the database's connections
 * (bench/console-load.ts). The full answer is read only when this says there is one. Each caller gets its check, or
 * the coded error `authenticateAgent` would have thrown for it (unknown, revoked, another certificate).
 */
export async function pollChecks(db: Queryable, callers: readonly PollCaller[], ca: PollCa): Promise<Array<PollCheck | Error>> {
  if (!callers.length) return [];
  const rows = await db.query<PollRow>(
    `SELECT a.id, a.group_id, a.revoked_at, a.cert_serial, grp.name AS group_name, grp.policy_revision,
            EXISTS (SELECT 1 FROM ${deliverableTasksFrom('a.id')}) AS has_tasks,
            EXISTS (SELECT 1 FROM ${deliverableRestoresFrom('a.id')}) AS has_restores,
            EXISTS (SELECT 1 FROM ${deliverableAnswersFrom('a.id')}) AS has_answers,
            a.trust_cas IS NOT NULL AND coalesce(a.cert_ca_sha256, $2) <> $3 AS renew_ca,
            a.trust_cas IS NOT NULL AND a.cert_not_after < now() + make_interval(days => ${RENEW_BEFORE_DAYS}) AS renew_expiry,
            a.trust_cas IS NOT NULL AND a.trust_cas <> $4 AND coalesce(a.cert_ca_sha256, $2) = $3 AS trust_due
       FROM agents a LEFT JOIN groups grp ON grp.id = a.group_id WHERE a.id = ANY($1::text[])`,
    [[...new Set(callers.map((c) => c.agentId))], ca.fingerprint, ca.renewalFingerprint, ca.trustFingerprints.join(',')],
  );
  return checkCallers(rows, callers, toCheck);
}

function toCheck(r: PollRow): PollCheck {
  return {
    id: r.id,
    groupId: r.group_id,
    policyRevision: r.group_name === null ? 0 : (r.policy_revision ?? 0),
    hasTasks: r.has_tasks,
    hasRestores: r.has_restores,
    hasAnswers: r.has_answers,
    renew: r.renew_ca ? 'ca-rotation' : r.renew_expiry ? 'expiry' : undefined,
    trustDue: r.trust_due,
  };
}
