import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CpuBudgetOptions {
  /** Share of the whole machine (all cores together) the scan may use on average, 1–100. */
  percent: number;
  cores?: number;
  /** CPU time of this process in microseconds (user + system, every thread). */
  cpuUsage?: () => { user: number; system: number };
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Keeps a scan's average CPU use under a budget. Between batches the scanner calls `pace()`: it measures how much
 * CPU time the process used since the last call (process.cpuUsage(), which counts the thread pool's hashing and I/O
 * too) against what the budget allows for the wall time that passed, and sleeps off any excess. Sleeping t ms uses
 * (almost) no CPU while the allowance grows by budget × t, so the sleep needed is excess / budget. Unused allowance
 * is banked for at most one second, so a scan that waited on a slow disk does not earn a long burst afterwards.
 * The average is over the whole scan, measured in batches: a single batch may run at full speed.
 */
export class CpuBudget {
  /** CPU milliseconds allowed per wall millisecond (0.5 on two cores at 25%). */
  readonly share: number;
  private readonly cpuUsage: () => { user: number; system: number };
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private lastCpu: number;
  private lastWall: number;
  /** CPU ms used beyond the allowance (negative: banked allowance). */
  private debt = 0;
  sleptMs = 0;

  constructor(opts: CpuBudgetOptions) {
    const cores = opts.cores ?? availableParallelism();
    this.share = (Math.min(100, Math.max(1, opts.percent)) / 100) * cores;
    this.cpuUsage = opts.cpuUsage ?? (() => process.cpuUsage());
    this.now = opts.now ?? (() => performance.now());
    this.sleep = opts.sleep ?? ((ms) => sleep(ms).then(() => undefined));
    this.lastCpu = this.cpuMs();
    this.lastWall = this.now();
  }

  private cpuMs(): number {
    const u = this.cpuUsage();
    return (u.user + u.system) / 1000;
  }

  /** Call between batches of work; resolves after the sleep the budget requires (usually at once). */
  async pace(): Promise<void> {
    const cpu = this.cpuMs();
    const wall = this.now();
    this.debt += cpu - this.lastCpu - (wall - this.lastWall) * this.share;
    this.debt = Math.max(this.debt, -1000 * this.share);
    this.lastCpu = cpu;
    this.lastWall = wall;
    if (this.debt <= 0) return;
    const ms = this.debt / this.share;
    await this.sleep(ms);
    this.sleptMs += ms;
    // The sleep earned its allowance; what the process used meanwhile is counted at the next call.
    this.debt = 0;
    this.lastWall = this.now();
  }
}
