import { describe, expect, it } from 'vitest';
import { LogindIdleSource, ReportedIdleSource, parseLogind, screenLocked } from '#native-host/tasks/idle-source.ts';

describe('idle sources', () => {
  it('reads logind: LockedHint means locked, IdleHint alone means idle, neither means active', () => {
    expect(parseLogind('LockedHint=yes\nIdleHint=yes\n')).toBe('locked');
    expect(parseLogind('LockedHint=no\nIdleHint=yes\n')).toBe('idle');
    expect(parseLogind('IdleHint=no\nLockedHint=no\n')).toBe('active');
    expect(parseLogind('')).toBe('unknown');
  });

  it('asks loginctl about $XDG_SESSION_ID, or the user graphical session for an agent started as a service', async () => {
    const calls: string[][] = [];
    const answers: Record<string, string> = { 'show-user': '7\n', 'show-session': 'LockedHint=yes\nIdleHint=no\n' };
    const run = async (_file: string, args: string[]) => {
      calls.push(args);
      return answers[args[0]!]!;
    };
    const asService = new LogindIdleSource({ run, env: {} });
    expect(await asService.poll()).toBe('locked');
    asService.close();
    expect(calls[0]!.slice(0, 1)).toEqual(['show-user']);
    expect(calls[1]).toEqual(['show-session', '7', '-p', 'LockedHint', '-p', 'IdleHint']);

    calls.length = 0;
    const inSession = new LogindIdleSource({ run, env: { XDG_SESSION_ID: '3' } });
    await inSession.poll();
    inSession.close();
    expect(calls).toEqual([['show-session', '3', '-p', 'LockedHint', '-p', 'IdleHint']]);
  });

  it('without loginctl the state is unknown, which never counts as locked', async () => {
    const s = new LogindIdleSource({
      run: async () => Promise.reject(Object.assign(new Error('spawn loginctl ENOENT'), { code: 'ENOENT' })),
      env: {},
    });
    expect(await s.poll()).toBe('unknown');
    s.close();
    expect(screenLocked([s])).toBe(false);
  });

  it('a reported state (the extension) expires when not renewed, so a closed browser does not keep the machine "away"', () => {
    let t = 0;
    const ext = new ReportedIdleSource({ ttlMs: 120_000, now: () => t });
    let changes = 0;
    ext.onChange(() => changes++);
    ext.set('locked');
    expect(screenLocked([ext])).toBe(true);
    t = 119_000;
    expect(ext.current()).toBe('locked');
    t = 121_000;
    expect(ext.current()).toBe('unknown');
    expect(changes).toBe(1);
  });

  it('the machine is away while any source says locked', () => {
    const a = new ReportedIdleSource();
    const b = new ReportedIdleSource();
    a.set('active');
    b.set('locked');
    expect(screenLocked([a, b])).toBe(true);
    b.set('idle');
    expect(screenLocked([a, b])).toBe(false);
  });
});
