import { describe, expect, it } from 'vitest';
import { CpuBudget } from '#native-host/scan/cpu-budget.ts';

/** A machine where time only moves when the test says so: work burns CPU and wall time, sleeping only wall time. */
function fakeMachine() {
  let wall = 0;
  let cpuUs = 0;
  const sleeps: number[] = [];
  return {
    work(ms: number, cores = 1) {
      wall += ms;
      cpuUs += ms * cores * 1000;
    },
    wait(ms: number) {
      wall += ms;
    },
    sleeps,
    get wall() {
      return wall;
    },
    get cpuMs() {
      return cpuUs / 1000;
    },
    opts: {
      now: () => wall,
      cpuUsage: () => ({ user: cpuUs, system: 0 }),
      sleep: async (ms: number) => {
        sleeps.push(ms);
        wall += ms;
      },
    },
  };
}

describe('the CPU budget', () => {
  it('keeps a scan that would use a full core at 25% of a two-core machine (half a core) on average', async () => {
    const m = fakeMachine();
    const budget = new CpuBudget({ percent: 25, cores: 2, ...m.opts });
    for (let i = 0; i < 100; i++) {
      m.work(10);
      await budget.pace();
    }
    expect(m.cpuMs / m.wall).toBeCloseTo(0.5, 2);
    expect(budget.sleptMs).toBeCloseTo(1000, 0);
  });

  it('counts every thread: hashing on two thread-pool threads at once is twice the CPU time', async () => {
    const m = fakeMachine();
    const budget = new CpuBudget({ percent: 50, cores: 2, ...m.opts });
    for (let i = 0; i < 50; i++) {
      m.work(10, 2);
      await budget.pace();
    }
    expect(m.cpuMs / m.wall).toBeCloseTo(1, 2);
  });

  it('does not slow a scan that stays under the budget', async () => {
    const m = fakeMachine();
    const budget = new CpuBudget({ percent: 50, cores: 1, ...m.opts });
    for (let i = 0; i < 100; i++) {
      m.work(10);
      m.wait(30); // waiting on the disk
      await budget.pace();
    }
    expect(m.sleeps).toEqual([]);
  });

  it('banks at most a second of idle time, so a long wait does not buy a long burst', async () => {
    const m = fakeMachine();
    const budget = new CpuBudget({ percent: 50, cores: 1, ...m.opts });
    m.wait(60_000);
    await budget.pace();
    m.work(1500);
    await budget.pace();
    // 1500 ms used, 750 earned while working, 500 banked (1 s × 0.5): 250 ms over, slept off at 0.5 → 500 ms.
    expect(m.sleeps).toEqual([500]);
  });
});
