import { SandgateError, secretSetSchema } from '@sandgate/shared';
import { parseGroupActions } from '../group-tasks/group-actions-store.ts';
import { policySchemaIssues } from './groups.ts';
import { keepPolicySecrets } from './policy-secrets.ts';

export interface PolicyIssue {
  /** Dotted path of the key (`sandbox.servers.0.url`); empty for the document itself. */
  key: string;
  message: string;
}

type Doc = Record<string, unknown>;

function issuesOf(err: unknown): PolicyIssue[] {
  if (!(err instanceof SandgateError) || err.code !== 'POLICY_INVALID') throw err;
  const issues = err.params?.['issues'];
  return Array.isArray(issues) ? (issues as PolicyIssue[]) : [{ key: '', message: err.message }];
}

/**
 * Everything saving `doc` as a group's policy would refuse, without saving it (`POST /api/policy/validate`, the
 * editor's inline validation as the administrator types): the same three checks as `PUT /api/groups/:id/policy`, in
 * its order, each with the function the save runs: the console-only `groupActions` (groupActionsSchema), the kept
 * secrets (`{"set": true}` needs a stored value behind it), then the agents' `policySchema`. Where a kept secret has
 * nothing stored, only that is said of its key.
 */
export function checkPolicyDocument(doc: Doc | null, stored: Doc | null): PolicyIssue[] {
  if (doc === null) return [];
  const issues: PolicyIssue[] = [];
  const hasActions = Object.hasOwn(doc, 'groupActions');
  const { groupActions, ...agentPolicy } = doc;
  if (hasActions) {
    try {
      parseGroupActions(groupActions);
    } catch (err) {
      issues.push(...issuesOf(err));
    }
  }
  const policy = hasActions ? (Object.keys(agentPolicy).length ? agentPolicy : null) : doc;
  if (policy === null) return issues;
  let full: unknown;
  try {
    full = keepPolicySecrets(policy, stored);
  } catch (err) {
    issues.push(...issuesOf(err));
    // The rest of the document is still checked, each unkept secret standing in as a string.
    full = markersAsText(policy);
  }
  issues.push(...policySchemaIssues(full));
  return issues;
}

function markersAsText(v: unknown): unknown {
  if (secretSetSchema.safeParse(v).success) return 'kept secret';
  if (Array.isArray(v)) return v.map(markersAsText);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, markersAsText(x)]));
  return v;
}
