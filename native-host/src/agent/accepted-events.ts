import { basename } from 'node:path';
import type { Job } from '@sandgate/shared';
import type { JobEvent } from '../queue/job-store.ts';

/** The events of a job just accepted: it is in the queue, and perhaps someone dressed up an executable. */
export function acceptedEvents(job: Job): JobEvent[] {
  const content = contentLabel(job);
  const accepted: JobEvent = {
    what: 'accepted',
    event: { type: 'object-accepted', path: job.path, sha256: job.sha256, ...(content ? { content } : {}) },
  };
  if (!job.content?.disguised) return [accepted];
  // Analysed like any other object; the event is for whoever reads the log.
  const message = `${basename(job.path)} is named like a harmless file but its content is ${content}`;
  return [
    accepted,
    { what: 'content-mismatch', event: { type: 'content-mismatch', path: job.path, sha256: job.sha256, content, message } },
  ];
}

export function contentLabel(job: Job): string | undefined {
  return job.content ? `${job.content.kind}/${job.content.format}` : undefined;
}
