import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { envelopeBase, correlationIdSchema } from './envelope.ts';
import { helloRequestSchema } from './messages/hello.ts';
import { submitDownloadRequestSchema, submitFileRequestSchema } from './messages/submit-download.ts';
import { getStatusRequestSchema } from './messages/status.ts';
import { listJobsRequestSchema } from './messages/job.ts';
import { listQuarantineRequestSchema, releaseHeldRequestSchema, restoreQuarantinedRequestSchema } from './messages/quarantine.ts';
import { listTasksRequestSchema, reportIdleRequestSchema, taskCommandRequestSchema } from './messages/tasks.ts';

export {
  idleStateSchema,
  listTasksRequestSchema,
  reportIdleRequestSchema,
  reportIdleResultSchema,
  taskCommandRequestSchema,
  type TaskCommandPayload,
} from './messages/tasks.ts';

const requestEnvelope = {
  ...envelopeBase,
  kind: z.literal('request'),
  id: correlationIdSchema,
  /**
   * Who asked, as the native host saw it: `chromium:<extension id>` or `firefox:<add-on id>`. Set by the native host on
   * everything it forwards, replacing whatever the browser wrote; absent for the command line. The agent ties a
   * browser's downloads to it, so one browser cannot release what another holds. @since 1 (issue 14)
   */
  caller: z.string().min(1).max(300).optional(),
};
// Typed on the shape, not on `z.ZodObject`: with the wide generic, `extend` inferred every field as `unknown`.
const withEnvelope = <S extends z.ZodRawShape>(s: z.ZodObject<S>) => s.extend(requestEnvelope);

/** Every request the agent understands. */
export const requestSchema = lazySchema(() =>
  z.discriminatedUnion('type', [
    withEnvelope(helloRequestSchema),
    withEnvelope(submitDownloadRequestSchema),
    withEnvelope(submitFileRequestSchema),
    withEnvelope(getStatusRequestSchema),
    withEnvelope(listJobsRequestSchema),
    withEnvelope(listQuarantineRequestSchema),
    withEnvelope(restoreQuarantinedRequestSchema),
    withEnvelope(releaseHeldRequestSchema),
    withEnvelope(listTasksRequestSchema),
    withEnvelope(taskCommandRequestSchema),
    withEnvelope(reportIdleRequestSchema),
  ]),
);
export type Request = z.infer<typeof requestSchema>;
export type RequestType = Request['type'];
// A plain list, built at load (it builds requestSchema): the native host needs that schema for its first request anyway.
export const REQUEST_TYPES = requestSchema.options.map((o) => o.shape.type.value) as RequestType[];

/** What the browser may ask through the native host; anything else is refused with REQUEST_NOT_ALLOWED. */
export const BROWSER_REQUEST_TYPES: readonly RequestType[] = [
  'hello',
  'submit-download',
  'get-status',
  'list-jobs',
  'list-quarantine',
  'restore-quarantined',
  'release-held',
  'report-idle',
];
