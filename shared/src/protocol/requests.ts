import { z } from 'zod';
import { envelopeBase, correlationIdSchema } from './envelope.ts';
import { helloRequestSchema } from './messages/hello.ts';
import { submitDownloadRequestSchema, submitFileRequestSchema } from './messages/submit-download.ts';
import { getStatusRequestSchema } from './messages/status.ts';
import { listJobsRequestSchema } from './messages/job.ts';
import { holdLandedRequestSchema, listQuarantineRequestSchema, releaseHeldRequestSchema, restoreQuarantinedRequestSchema } from './messages/quarantine.ts';
import { listTasksRequestSchema, reportIdleRequestSchema, taskCommandRequestSchema } from './messages/tasks.ts';

export { idleStateSchema, listTasksRequestSchema, reportIdleRequestSchema, reportIdleResultSchema, taskCommandRequestSchema, type TaskCommandPayload } from './messages/tasks.ts';

const requestEnvelope = { ...envelopeBase, kind: z.literal('request'), id: correlationIdSchema };
// Typed on the shape, not on `z.ZodObject`: with the wide generic, `extend` inferred every field as `unknown`.
const withEnvelope = <S extends z.ZodRawShape>(s: z.ZodObject<S>) => s.extend(requestEnvelope);

/** Every request the agent understands. */
export const requestSchema = z.discriminatedUnion('type', [
  withEnvelope(helloRequestSchema),
  withEnvelope(submitDownloadRequestSchema),
  withEnvelope(submitFileRequestSchema),
  withEnvelope(getStatusRequestSchema),
  withEnvelope(listJobsRequestSchema),
  withEnvelope(listQuarantineRequestSchema),
  withEnvelope(restoreQuarantinedRequestSchema),
  withEnvelope(releaseHeldRequestSchema),
  withEnvelope(holdLandedRequestSchema),
  withEnvelope(listTasksRequestSchema),
  withEnvelope(taskCommandRequestSchema),
  withEnvelope(reportIdleRequestSchema),
]);
export type Request = z.infer<typeof requestSchema>;
export type RequestType = Request['type'];
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
  'hold-landed',
  'report-idle',
];
