import { describe, expect, it } from 'vitest';
import { pollAnswerSchema, pollResponseSchema } from '@sandgate/shared';
import { knownTasks } from '#native-host/console/known-tasks.ts';

// A console upgraded before its agents sends messages they do not know. An agent must still take the poll's policy
// and the tasks it knows; before, one unknown message made it refuse the whole answer, with every later poll.
const cancel = { type: 'cancel', id: '6b1f3c2e-8d4a-4f4e-9a51-1c2d3e4f5a6b', taskId: '7c2f3c2e-8d4a-4f4e-9a51-1c2d3e4f5a6b' };
const fromTheFuture = { type: 'isolate-host', id: '8d3f3c2e-8d4a-4f4e-9a51-1c2d3e4f5a6b', until: '2027-01-01T00:00:00Z' };
const answer = {
  policy: { revision: 7, group: 'finance', policy: null },
  tasks: [fromTheFuture, cancel, 'not even an object', { type: 'cancel', id: 'not-a-uuid', taskId: 'x' }],
};

describe('a poll answer carrying a message this agent does not know', () => {
  it('was unreadable as a whole with the strict schema (what older agents do)', () => {
    expect(pollResponseSchema.safeParse(answer).success).toBe(false);
  });

  it('keeps its policy and the tasks the agent knows; the rest is set aside by name', () => {
    const r = pollAnswerSchema.parse(answer);
    expect(r.policy).toEqual({ revision: 7, group: 'finance', policy: null });
    const { tasks, skipped } = knownTasks(r.tasks);
    expect(tasks).toEqual([cancel]);
    expect(skipped.map((s) => [s.type, s.id])).toEqual([
      ['isolate-host', fromTheFuture.id],
      [undefined, undefined],
      ['cancel', 'not-a-uuid'],
    ]);
    expect(skipped.every((s) => s.problem.length > 0)).toBe(true);
  });
});
