/**
 * The messages between bench/console-load.ts and its agent simulators (bench/lib/agent-simulator.ts), over the IPC
 * channel of `fork`. One scenario is one simulator lifetime, in this order: setup, agents (repeated), connect →
 * connected, measure, measure-end → heartbeats, arm → armed, verdict (to the simulator holding the source agent) →
 * verdict-answered, received (as agents get the task), stop → stopped. Times that cross processes are `Date.now()`:
 * the processes share the machine's wall clock.
 */

/** One simulated agent as the parent enrolled it: its client certificate and the console process it talks to. */
export interface SimAgentSpec {
  id: string;
  certPem: string;
  port: number;
}

export interface SimulatorSetup {
  type: 'setup';
  host: string;
  /** The key every simulated agent shares (bench/lib/agent-certs.ts). */
  keyPem: string;
  caPem: string;
  heartbeatMs: number;
  pollWaitMs: number;
  /** The heartbeat's `startedAt`. */
  startedAt: string;
  /** Polls started every 20 ms, and first heartbeats in flight at once: this simulator's share of the fleet's pace. */
  connectStep: number;
  heartbeatBatch: number;
  connectTimeoutMs: number;
}

export type ToSimulator =
  | SimulatorSetup
  | { type: 'agents'; agents: SimAgentSpec[] }
  | { type: 'connect' }
  | { type: 'measure' }
  | { type: 'measure-end' }
  | { type: 'arm'; sha256: string }
  /** Ship `body` to /agent/v1/events as this simulator's first agent, on its TLS session. */
  | { type: 'verdict'; port: number; body: string }
  | { type: 'stop' };

export interface HeartbeatFigures {
  type: 'heartbeats';
  latenciesMs: number[];
  sent: number;
  failed: number;
  resumed: number;
}

export type FromSimulator =
  | { type: 'connected'; ms: number }
  | HeartbeatFigures
  | { type: 'armed' }
  /** `startedAt`: `Date.now()` just before the events call, the mark every receipt time is measured from. */
  | { type: 'verdict-answered'; startedAt: number; createdMs: number; status: number; body: string }
  /** `Date.now()` at which agents received the armed task's share, since the last such message. */
  | { type: 'received'; at: number[] }
  | { type: 'stopped'; pollErrors: number; pollErrorKinds: [string, number][] }
  | { type: 'failed'; message: string };

const TO_TYPES = new Set<string>(['setup', 'agents', 'connect', 'measure', 'measure-end', 'arm', 'verdict', 'stop']);
const FROM_TYPES = new Set<string>(['connected', 'heartbeats', 'armed', 'verdict-answered', 'received', 'stopped', 'failed']);

const typeOf = (m: unknown): string | undefined =>
  typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' ? (m as { type: string }).type : undefined;

/** Both ends are this benchmark's own code: a known `type` is check enough for a message between them. */
export function isToSimulator(m: unknown): m is ToSimulator {
  return TO_TYPES.has(typeOf(m) ?? '');
}

export function isFromSimulator(m: unknown): m is FromSimulator {
  return FROM_TYPES.has(typeOf(m) ?? '');
}
