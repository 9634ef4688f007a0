import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AGENT_EVENT_TYPES,
  BROWSER_REQUEST_TYPES,
  CAPABILITIES,
  ERROR_CODES,
  REQUEST_TYPES,
  eventSchema,
  helloResultSchema,
  listJobsResultSchema,
  listQuarantineResultSchema,
  releaseHeldResultSchema,
  reportIdleResultSchema,
  requestSchema,
  restoreQuarantinedResultSchema,
  statusResultSchema,
  submitResultSchema,
  taskSchema,
  taskSummarySchema,
  type RequestType,
} from '@sandgate/shared';

// shared/PROTOCOL.md is the prose of the contract; these tests hold it to the code both ways, so a capability, a
// request, a push or a log event cannot be added, renamed or dropped on one side only.

const doc = readFileSync(join(import.meta.dirname, '../../shared/PROTOCOL.md'), 'utf8');
const ticked = (text: string) => [...text.matchAll(/`([a-z][a-z0-9-]*)`/g)].map((m) => m[1]!);
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** What a PROTOCOL.md text names in each place the code has a list for. */
function documented(text: string) {
  const headings = [...text.matchAll(/^### (.*)$/gm)].map((m) => m[1]!);
  const capabilities = /^Capabilities \(append only[^)]*\): ([\s\S]*?)\.$/m.exec(text)?.[1] ?? '';
  const browser = /### Which requests the browser may send\n([\s\S]*?)\(`BROWSER_REQUEST_TYPES`/.exec(text)?.[1] ?? '';
  const logTable = /<!-- event-types:begin -->([\s\S]*?)<!-- event-types:end -->/.exec(text)?.[1] ?? '';
  return {
    capabilities: sorted(ticked(capabilities)),
    requests: sorted(headings.filter((h) => !h.startsWith('Event ') && h.includes('(since')).flatMap((h) => ticked(h.split('(since')[0]!))),
    pushEvents: sorted(headings.filter((h) => h.startsWith('Event ')).flatMap((h) => ticked(h))),
    browserRequests: sorted(ticked(browser)),
    logEvents: sorted([...logTable.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!)),
  };
}

/** What the code says. */
const code = {
  capabilities: sorted(CAPABILITIES),
  requests: sorted(REQUEST_TYPES),
  pushEvents: sorted(eventSchema.options.map((o) => o.shape.type.value)),
  browserRequests: sorted(BROWSER_REQUEST_TYPES),
  logEvents: sorted(AGENT_EVENT_TYPES),
};

describe('PROTOCOL.md and the code name the same things', () => {
  const names = documented(doc);
  it('lists every capability of CAPABILITIES, and no other, on its "Capabilities" line', () =>
    expect(names.capabilities).toEqual(code.capabilities));
  it('has a section for every request type, and no section for a request the agent does not know', () =>
    expect(names.requests).toEqual(code.requests));
  it('has a section for every push event, and none for an event the agent never pushes', () =>
    expect(names.pushEvents).toEqual(code.pushEvents));
  it('lists exactly the requests the browser may send', () => expect(names.browserRequests).toEqual(code.browserRequests));
  it('describes every type of the event log, and no other', () => expect(names.logEvents).toEqual(code.logEvents));

  it('would notice a drift: a capability, a request section, a browser request or a log type dropped from the prose', () => {
    const drifted = doc
      .replace(', `hold-landed`.', '.')
      .replace('### `release-held` (since 1; browser)', '### Releasing held downloads')
      .replace('`report-idle` (`BROWSER_REQUEST_TYPES`', '(`BROWSER_REQUEST_TYPES`')
      .replace('| `verdict-allowed` |', '| verdict-allowed |');
    const names = documented(drifted);
    expect(names.capabilities).not.toEqual(code.capabilities);
    expect(names.requests).not.toEqual(code.requests);
    expect(names.browserRequests).not.toEqual(code.browserRequests);
    expect(names.logEvents).not.toEqual(code.logEvents);
  });
});

describe('the error-code registry is append only', () => {
  // A code is a name users and scripts match on: removing or renaming one breaks them silently. The snapshot is the
  // list as released; a new code is appended to the registry AND to this file, an old one is never removed from either.
  const snapshot = readFileSync(join(import.meta.dirname, 'error-codes.snapshot.txt'), 'utf8')
    .split('\n')
    .filter(Boolean);

  it('keeps every released code, in its place', () => {
    expect(Object.keys(ERROR_CODES).slice(0, snapshot.length)).toEqual(snapshot);
  });

  it('has no code missing from the snapshot (append it to test/contract/error-codes.snapshot.txt)', () => {
    expect(Object.keys(ERROR_CODES).slice(snapshot.length)).toEqual([]);
  });
});

describe('a golden sample of every message parses with the shared schemas', () => {
  const dir = join(import.meta.dirname, '../fixtures/messages/golden');
  const files = readdirSync(dir);
  const sample = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));
  // What each request answers with; a request type added without its result schema here fails the first test.
  const results: Record<RequestType, z.ZodType> = {
    hello: helloResultSchema,
    'submit-download': submitResultSchema,
    'submit-file': submitResultSchema,
    'get-status': statusResultSchema,
    'list-jobs': listJobsResultSchema,
    'list-quarantine': listQuarantineResultSchema,
    'restore-quarantined': restoreQuarantinedResultSchema,
    'release-held': releaseHeldResultSchema,
    'report-idle': reportIdleResultSchema,
    'list-tasks': z.object({ tasks: z.array(taskSummarySchema) }),
    'task-command': taskSchema,
  };

  it('has one sample per request type and per push event, and none for a type that does not exist', () => {
    const expected = [
      ...REQUEST_TYPES.map((t) => `request-${t}.json`),
      ...eventSchema.options.map((o) => `event-${o.shape.type.value}.json`),
    ];
    expect(sorted(files)).toEqual(sorted(expected));
  });

  it.each(REQUEST_TYPES)('request %s and its answer', (type) => {
    const s = z.object({ request: z.unknown(), result: z.unknown() }).parse(sample(`request-${type}.json`));
    const req = requestSchema.parse(s.request);
    expect(req.type).toBe(type);
    expect(results[type].safeParse(s.result).error).toBeUndefined();
  });

  it.each(eventSchema.options.map((o) => o.shape.type.value))('push event %s', (type) => {
    expect(eventSchema.parse(sample(`event-${type}.json`)).type).toBe(type);
  });
});
