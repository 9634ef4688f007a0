import type { Queryable } from '../db/db.ts';
import { DELIVERABLE_TASKS } from '../group-tasks/group-tasks.ts';
import { DELIVERABLE_RESTORES } from '../restore/restore-requests.ts';
import { DELIVERABLE_ANSWERS } from '../restore/restore-inbox.ts';
import { checkAgentRow, type AgentIdentityRow } from './agents.ts';

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

/**
 * Everything a long-poll needs to decide whether to answer, in one statement: who the caller is (the checks of
 * `authenticateAgent`), its group's policy revision, and whether anything waits for it. A poll runs this when it
 * arrives and when its wait ends, so with 10,000 agents it runs some 800 times a second; the full answer is read only
 * when this says there is one.
 */
export async function pollCheck(db: Queryable, agentId: string, certSerial: string, ca: PollCa): Promise<PollCheck> {
  const rows = await db.query<
    AgentIdentityRow & {
      group_name: string | null;
      policy_revision: number | null;
      has_tasks: boolean;
      has_restores: boolean;
      has_answers: boolean;
      renew_ca: boolean;
      renew_expiry: boolean;
      trust_due: boolean;
    }
  >(
    `SELECT a.id, a.group_id, a.revoked_at, a.cert_serial, grp.name AS group_name, grp.policy_revision,
            EXISTS (SELECT 1 FROM ${DELIVERABLE_TASKS}) AS has_tasks, EXISTS (SELECT 1 FROM ${DELIVERABLE_RESTORES}) AS has_restores,
            EXISTS (SELECT 1 FROM ${DELIVERABLE_ANSWERS}) AS has_answers,
            a.trust_cas IS NOT NULL AND coalesce(a.cert_ca_sha256, $2) <> $3 AS renew_ca,
            a.trust_cas IS NOT NULL AND a.cert_not_after < now() + make_interval(days => ${RENEW_BEFORE_DAYS}) AS renew_expiry,
            a.trust_cas IS NOT NULL AND a.trust_cas <> $4 AND coalesce(a.cert_ca_sha256, $2) = $3 AS trust_due
       FROM agents a LEFT JOIN groups grp ON grp.id = a.group_id WHERE a.id = $1`,
    [agentId, ca.fingerprint, ca.renewalFingerprint, ca.trustFingerprints.join(',')],
  );
  const r = checkAgentRow(rows[0], agentId, certSerial);
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
