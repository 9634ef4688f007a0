import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { isFromSimulator, type FromSimulator, type ToSimulator } from './agent-simulator-protocol.ts';

type Answer<T extends FromSimulator['type']> = Extract<FromSimulator, { type: T }>;

/**
 * The parent's handle on one agent simulator (bench/lib/agent-simulator.ts), forked with the bench's own Node and
 * flags. Receipt times are collected as they arrive; every other answer is awaited by its type, in the protocol's
 * order. A simulator that fails or exits fails whatever is awaited from it.
 */
export class SimulatorProcess {
  readonly child: ChildProcess;
  /** `Date.now()` at which this simulator's agents received the armed task. */
  readonly received: number[] = [];
  private readonly waiting = new Map<string, { resolve: (m: FromSimulator) => void; reject: (e: Error) => void }>();
  private readonly early = new Map<string, FromSimulator>();
  private ended: Error | undefined;

  constructor() {
    this.child = fork(join(import.meta.dirname, 'agent-simulator.ts'), [], {
      execPath: process.execPath,
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: unknown) => {
      if (!isFromSimulator(m)) return;
      if (m.type === 'received') this.received.push(...m.at);
      else if (m.type === 'failed') this.end(new Error(`agent simulator ${this.child.pid}: ${m.message}`));
      else {
        const w = this.waiting.get(m.type);
        this.waiting.delete(m.type);
        if (w) w.resolve(m);
        else this.early.set(m.type, m);
      }
    });
    this.child.once('exit', (code, signal) => this.end(new Error(`agent simulator ${this.child.pid} exited (${code ?? signal})`)));
    // A send to a simulator that died: what the parent awaits from it fails instead (end), not the whole process.
    this.child.on('error', (err) => this.end(err));
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(m: ToSimulator): void {
    if (this.ended) return;
    this.child.send(m, (err: Error | null) => {
      if (err) this.end(err);
    });
  }

  next<T extends FromSimulator['type']>(type: T): Promise<Answer<T>> {
    const got = this.early.get(type);
    if (got) {
      this.early.delete(type);
      return Promise.resolve(got as Answer<T>);
    }
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => this.waiting.set(type, { resolve: (m) => resolve(m as Answer<T>), reject }));
  }

  /** Whether the process has exited (after `stopped`, it leaves by itself). */
  exited(): Promise<void> {
    return this.child.exitCode !== null || this.child.signalCode !== null
      ? Promise.resolve()
      : new Promise((r) => this.child.once('exit', () => r()));
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }

  private end(err: Error): void {
    this.ended ??= err;
    for (const w of this.waiting.values()) w.reject(this.ended);
    this.waiting.clear();
  }
}
