import { SandgateError, witnessSchema, type Witness } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';
import { countReporters } from './threat-reports.ts';
import type { LookupResult } from './sandbox-lookup.ts';

/**
 * Where a group task stands with its second witness, for the task page and `GET /api/tasks/:id`:
 * `witnessed` (with who), `awaiting` (its shares scan and report only; `summary` says what it waits for),
 * `not-needed` (a dry run, or a task that does not quarantine), `expired` (it ran out waiting).
 */
export interface WitnessStatus {
  state: 'witnessed' | 'awaiting' | 'not-needed' | 'expired';
  /** In words, without times: the times are the fields below, which the page shows in the reader's own terms. */
  summary: string;
  /** When the task was witnessed (state `witnessed`). */
  witnessedAt?: string;
  /** When the console's sandbox was last asked about the object (state `awaiting`, a sandbox configured). */
  lookedUpAt?: string;
  witness?: Witness;
  /** Distinct, unrevoked workstations that reported the object malicious, and how many witness it. */
  reports: { count: number; required: number };
  /** The console's own sandbox: whether one is configured, and its last answer about this object. */
  sandbox: { configured: boolean; lastLookup?: (LookupResult & { at: string }) | undefined };
}

export async function readWitnessStatus(db: Queryable, taskId: string, o: { sandboxConfigured: boolean }): Promise<WitnessStatus> {
  const rows = await db.query<{
    sha256: string;
    kind: string;
    created_by: string;
    state: string;
    options: { quarantineOnMatch?: boolean; dryRun?: boolean };
    witness: unknown;
    witness_agents: number;
    witness_lookup: (LookupResult & { at: string }) | null;
    expired: boolean;
  }>(
    'SELECT sha256, kind, created_by, state, options, witness, witness_agents, witness_lookup, expires_at <= now() AS expired FROM group_tasks WHERE id = $1',
    [taskId],
  );
  const t = rows[0];
  if (!t) throw new SandgateError('CONSOLE_NOT_FOUND', `no group task ${taskId}`);
  const reports = { count: await countReporters(db, t.sha256), required: t.witness_agents };
  const sandbox = { configured: o.sandboxConfigured, ...(t.witness_lookup ? { lastLookup: t.witness_lookup } : {}) };
  const parsed = t.witness === null ? undefined : witnessSchema.safeParse(t.witness);
  if (parsed?.success)
    return {
      state: 'witnessed',
      summary: `witnessed: ${describe(parsed.data)}`,
      witnessedAt: parsed.data.at,
      witness: parsed.data,
      reports,
      sandbox,
    };
  if (!t.options.quarantineOnMatch || t.options.dryRun) {
    return {
      state: 'not-needed',
      summary: t.options.dryRun ? 'a dry run: reports only, no witness needed' : 'does not quarantine: no witness needed',
      reports,
      sandbox,
    };
  }
  if (t.expired || t.state !== 'open')
    return {
      state: 'expired',
      summary: `${t.expired ? 'expired' : t.state} without a second witness: nothing was quarantined by it`,
      reports,
      sandbox,
    };
  if (t.kind === 'hunt')
    return {
      state: 'awaiting',
      summary: `waiting for another operator's approval (it was made by ${t.created_by}). Until then the hunt scans and reports only.`,
      reports,
      sandbox,
    };
  const waiting = [
    o.sandboxConfigured ? lookupText(t.witness_lookup) : "no sandbox server is configured for the console's own look-up",
    `${reports.count} of ${reports.required} workstations reported it malicious`,
    "or an operator's approval",
  ];
  return {
    state: 'awaiting',
    summary: `waiting for a second witness: ${waiting.join('; ')}. Until then the task scans and reports only.`,
    ...(o.sandboxConfigured && t.witness_lookup ? { lookedUpAt: t.witness_lookup.at } : {}),
    reports,
    sandbox,
  };
}

function describe(w: Witness): string {
  switch (w.kind) {
    case 'sandbox':
      return `the console's sandbox server ${w.server} judged it malicious${w.threat ? ` (${w.threat})` : ''}`;
    case 'agents':
      return `${w.count} workstations reported it malicious (${w.required} needed)`;
    case 'operator':
      return `approved by ${w.by}`;
  }
}

function lookupText(l: (LookupResult & { at: string }) | null): string {
  if (!l) return "the console's sandbox has not been asked yet";
  const what = {
    malicious: 'judged it malicious',
    suspicious: 'judged it suspicious only',
    clean: 'judged it clean',
    unknown: 'could not judge it',
    'not-found': 'does not know this object',
    pending: 'is still analysing it',
    failed: `could not be asked (${l.code ?? 'error'}${l.detail ? `: ${l.detail}` : ''})`,
  }[l.outcome];
  return `the console's sandbox server ${l.server} ${what}`;
}
