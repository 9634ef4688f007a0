import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEventsFrom } from '#native-host/console/event-reader.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const logFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'sandgate-events-'));
  dirs.push(d);
  return join(d, 'events.jsonl');
};
const line = (type: string) => JSON.stringify({ time: '2026-01-01T00:00:00.000Z', type }) + '\n';

describe('reading the event log for the console', () => {
  it('numbers each event by the byte offset of its line, and resumes from a cursor without repeating', () => {
    const f = logFile();
    appendFileSync(f, line('service-started') + line('verdict'));
    const first = readEventsFrom(f, 0, 500);
    expect(first.events.map((e) => [e.seq, e.event.type])).toEqual([
      [0, 'service-started'],
      [line('service-started').length, 'verdict'],
    ]);
    appendFileSync(f, line('quarantined'));
    const next = readEventsFrom(f, first.nextOffset, 500);
    expect(next.events.map((e) => e.event.type)).toEqual(['quarantined']);
    expect(next.remainingBytes).toBe(0);
  });

  it('leaves a line still being written for later and skips lines that are not events', () => {
    const f = logFile();
    appendFileSync(f, '{"torn\n' + line('verdict') + '{"time":"2026');
    const r = readEventsFrom(f, 0, 500);
    expect(r.events.map((e) => e.event.type)).toEqual(['verdict']);
    expect(r.skipped).toBe(1);
    appendFileSync(f, '-01-01T00:00:00.000Z","type":"restored"}\n');
    expect(readEventsFrom(f, r.nextOffset, 500).events.map((e) => e.event.type)).toEqual(['restored']);
  });

  it('sends at most a batch at a time and says how much is left', () => {
    const f = logFile();
    for (let i = 0; i < 5; i++) appendFileSync(f, line('verdict'));
    const r = readEventsFrom(f, 0, 2);
    expect(r.events).toHaveLength(2);
    expect(r.remainingBytes).toBe(3 * line('verdict').length);
  });

  it('a missing log is an empty one', () => {
    expect(readEventsFrom(join(tmpdir(), 'no-such-dir-sandgate', 'events.jsonl'), 0, 10).events).toEqual([]);
  });
});
