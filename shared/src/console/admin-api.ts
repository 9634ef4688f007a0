import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { decimalInt, MAX_ROW_ID, queryLimit, rowIdParam, uuidParam } from './http-values.ts';
import { AGENT_EVENT_TYPES } from '../log/agent-event.ts';
import { EVENT_SEVERITIES } from './event-severity.ts';

/**
 * The web console's JSON API (`/api/…` on the admin port): the query parameters and bodies of each route. Every route
 * parses what it takes with one of these; anything else is `400 MESSAGE_INVALID` (params: `in` query, path or body,
 * and the `issues`). @since 1 (console hardening)
 */

/**
 * Where a page of events starts: the `cursor` of the last event of the page before (its arrival time to the
 * microsecond, workstation id and sequence number); the next page holds the events that arrived before it.
 */
export const eventCursorParam = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\|[A-Za-z0-9-]{1,64}\|\d{1,18}$/, "an event's cursor")
  .transform((s) => {
    const [receivedAt, agentId, seq] = s.split('|') as [string, string, string];
    return { receivedAt, agentId, seq };
  });

/**
 * `GET /api/events`, `GET /api/agents/:id/events`: the newest events first, as they arrived, filtered by the
 * database: `severity` (see event-severity.ts), `agent` (a workstation's id), `type` (an event type); `before` (an
 * event's `cursor`) pages back to older ones.
 */
export const eventsQuerySchema = lazySchema(() =>
  z.strictObject({
    limit: queryLimit(1000, 100),
    severity: z.enum(EVENT_SEVERITIES).optional(),
    agent: uuidParam.optional(),
    type: z.enum(AGENT_EVENT_TYPES).optional(),
    before: eventCursorParam.optional(),
  }),
);
export type EventsQuery = z.infer<typeof eventsQuerySchema>;

/** `GET /api/audit`: the newest rows first; `before` (a row id) pages back to older ones. */
export const auditQuerySchema = lazySchema(() => z.strictObject({ limit: queryLimit(1000, 200), before: rowIdParam.optional() }));
export type AuditQuery = z.infer<typeof auditQuerySchema>;

/**
 * `GET /api/agents`: one page of workstations. `q` matches host name, id, group and version (case-insensitive, as
 * typed: `%` and `_` are plain characters); `state` narrows to online, offline or revoked; `sort` and `order` pick the
 * column; `offset` pages on. The answer's `total` counts every match and `counts` the whole fleet by state.
 */
export const agentsQuerySchema = lazySchema(() =>
  z.strictObject({
    q: z.string().max(200).optional(),
    state: z.enum(['online', 'offline', 'revoked']).optional(),
    sort: z.enum(['hostname', 'last_seen', 'version', 'group', 'cert_not_after', 'enrolled']).default('hostname'),
    order: z.enum(['asc', 'desc']).default('asc'),
    limit: queryLimit(1000, 500),
    offset: decimalInt(0, 10_000_000).default(0),
  }),
);
export type AgentsQuery = z.infer<typeof agentsQuerySchema>;

/** `GET /api/tasks`, `GET /api/restores`. */
export const listQuerySchema = lazySchema(() => z.strictObject({ limit: queryLimit(500, 50) }));

/** `POST /api/login`. Kept small: it is read before anyone is authenticated. */
export const loginBodySchema = lazySchema(() => z.strictObject({ name: z.string().min(1).max(64), password: z.string().max(1024) }));

/** `POST /api/groups`. */
export const groupCreateBodySchema = lazySchema(() => z.strictObject({ name: z.string().min(1).max(64) }));

/**
 * `PUT /api/groups/:id/policy`: a whole policy document (validated with the agents' `policySchema` once its kept
 * secrets are filled in, see `secretSetSchema`), optionally with the console-only `groupActions`; null removes it.
 */
export const policyBodySchema = lazySchema(() => z.strictObject({ policy: z.record(z.string(), z.unknown()).nullable() }));

/**
 * `POST /api/policy/validate`: what saving `policy` as the group's policy would refuse, without saving it (the
 * editor's inline validation). Answers `{valid, issues: [{key, message}]}` (the `POLICY_INVALID` issues a save would
 * give). Any signed-in user may ask; only `manage-policy` may save.
 */
export const policyValidateBodySchema = lazySchema(() =>
  z.strictObject({
    groupId: z.number().int().min(1).max(MAX_ROW_ID),
    policy: z.record(z.string(), z.unknown()).nullable(),
  }),
);

/** `POST /api/groups/:id/rollback`: make an earlier policy revision of the group current again (as a new revision). */
export const policyRollbackBodySchema = lazySchema(() => z.strictObject({ revision: z.number().int().min(1).max(MAX_ROW_ID) }));

/** `PUT /api/groups/:id/actions`: validated with `groupActionsSchema`; null turns them off. */
export const actionsBodySchema = lazySchema(() => z.strictObject({ groupActions: z.record(z.string(), z.unknown()).nullable() }));

/** `POST /api/agents/:id/group`: null takes the workstation out of its group. */
export const assignBodySchema = lazySchema(() => z.strictObject({ groupId: z.number().int().min(1).max(MAX_ROW_ID).nullable() }));

/** `POST /api/users`. */
export const userAddBodySchema = lazySchema(() =>
  z.strictObject({
    name: z.string().min(1).max(64),
    role: z.string().min(1).max(32),
    password: z.string().min(1).max(1024),
  }),
);

/** `POST /api/tokens`. */
export const tokenCreateBodySchema = lazySchema(() =>
  z.strictObject({
    group: z.string().min(1).max(64).optional(),
    ttlHours: z
      .number()
      .positive()
      .max(24 * 30)
      .optional(),
  }),
);

/** Routes that act without a body (logout, revoke, cancel): nothing, `null` or `{}`. */
export const emptyBodySchema = lazySchema(() => z.union([z.null(), z.strictObject({})]));
