import { describe, expect, it } from 'vitest';
import { ChangeNotifier } from '#console/agent-api/change-notifier.ts';

describe('waking waiting long-polls', () => {
  it('wakes exactly the polls of the agent named, or of the group named, and forgets them once woken', async () => {
    const n = new ChangeNotifier();
    const never = new AbortController().signal;
    const woken: string[] = [];
    const waits = [
      n.wait('a', 1, never).then(() => woken.push('a')),
      n.wait('b', 1, never).then(() => woken.push('b')),
      n.wait('c', 2, never).then(() => woken.push('c')),
      n.wait('d', null, never).then(() => woken.push('d')),
    ];
    expect(n.waiting).toBe(4);
    n.wakeAgent('c');
    await waits[2];
    expect(woken).toEqual(['c']);
    n.wakeGroup(1);
    await Promise.all(waits.slice(0, 2));
    expect(woken.sort()).toEqual(['a', 'b', 'c']);
    expect(n.waiting).toBe(1);
    n.wakeAgent('a');
    n.wakeGroup(2);
    expect(n.waiting).toBe(1);
    n.wakeAgent('d');
    await waits[3];
    expect(n.waiting).toBe(0);
  });

  it('lets a poll whose agent hung up go without waking anyone else', async () => {
    const n = new ChangeNotifier();
    const hungUp = new AbortController();
    const other = n.wait('x', 7, new AbortController().signal);
    const gone = n.wait('x', 7, hungUp.signal);
    hungUp.abort();
    await gone;
    expect(n.waiting).toBe(1);
    n.wakeGroup(7);
    await other;
    expect(n.waiting).toBe(0);
  });

  it('wakes each of 10,000 waiting agents by name and leaves none behind', async () => {
    const n = new ChangeNotifier();
    const never = new AbortController().signal;
    const waits = Array.from({ length: 10_000 }, (_, i) => n.wait(`agent-${i}`, 1, never));
    for (let i = 0; i < 10_000; i++) n.wakeAgent(`agent-${i}`);
    await Promise.all(waits);
    expect(n.waiting).toBe(0);
  });
});

describe('a wake-up that comes while a poll reads the database', () => {
  it('changes the mark of that agent (or of every agent, for a group), so the poll reads again instead of sleeping', () => {
    const n = new ChangeNotifier();
    const a = n.mark('a');
    const b = n.mark('b');
    n.wakeAgent('a');
    expect(n.mark('a')).not.toBe(a);
    expect(n.mark('b')).toBe(b);
    n.wakeGroup(3);
    expect(n.mark('b')).not.toBe(b);
  });
});
