import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { RESTORE_DECLINE_REASON_MAX } from './console-task.ts';
import { decimalInt, queryLimit } from './http-values.ts';

/**
 * The web console's inbox of employees' restore requests (issue 17): what a person asked for with "Ask for restore"
 * in the extension's popup, one open request per workstation and SHA-256, answered once by an administrator.
 * @since 1 (issue 17)
 */

export const RESTORE_INBOX_STATES = ['open', 'approved', 'declined'] as const;
export type RestoreInboxState = (typeof RESTORE_INBOX_STATES)[number];

/** `GET /api/restore-requests`: one page of requests in one state (open by default), the oldest open first. */
export const restoreInboxQuerySchema = lazySchema(() =>
  z.strictObject({
    state: z.enum(RESTORE_INBOX_STATES).default('open'),
    limit: queryLimit(500, 50),
    offset: decimalInt(0, 10_000_000).default(0),
  }),
);
export type RestoreInboxQuery = z.infer<typeof restoreInboxQuerySchema>;

/**
 * `POST /api/restore-requests/:id/approve`: restores the object on the workstation that asked, through the same path
 * as `POST /api/quarantine/restore`; `allow` also declares it a false positive in the workstation's group.
 */
export const restoreApproveBodySchema = lazySchema(() => z.strictObject({ allow: z.boolean().optional() }));

/** `POST /api/restore-requests/:id/decline`: the reason is shown to the person in their popup. */
export const restoreDeclineBodySchema = lazySchema(() =>
  z.strictObject({
    reason: z.string().trim().min(1, 'say why').max(RESTORE_DECLINE_REASON_MAX),
  }),
);
