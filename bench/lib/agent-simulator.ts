/**
 * One agent simulator of bench/console-load.ts: a child process (forked with the bench's own Node) that holds a share of
 * the simulated agents, their long-polls and their heartbeats, and answers the parent over IPC
 * (bench/lib/agent-simulator-protocol.ts). Split from the parent because one process cannot hold 20,000 agents here:
 * each agent takes a socket for its poll and more for heartbeats in flight, and the open-files limit is 20,000 per
 * process. The parent enrolls the agents (database rows, certificates) and adds up what every simulator measured.
 */
import { createSecureContext } from 'node:tls';
import { AGENT_API, type Heartbeat, type PollResponse } from '@sandgate/shared';
import { RawHttpsConnection, type TlsSessionCache } from './raw-https.ts';
import { isToSimulator, type FromSimulator, type SimulatorSetup, type ToSimulator } from './agent-simulator-protocol.ts';

interface SimAgent {
  id: string;
  /** The console process it talks to. */
  port: number;
  ctx: ReturnType<typeof createSecureContext>;
  tls: TlsSessionCache;
  poll: RawHttpsConnection;
  gotTask: boolean;
  stopped: boolean;
}

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

function send(m: FromSimulator): Promise<void> {
  return new Promise((resolve, reject) => process.send!(m, (err: Error | null) => (err ? reject(err) : resolve())));
}

let setup: SimulatorSetup | undefined;
const agents: SimAgent[] = [];
const loops: Promise<void>[] = [];
const timers: NodeJS.Timeout[] = [];
const hbLatency: number[] = [];
let hbSent = 0;
let hbFailed = 0;
let hbResumed = 0;
let measuring = false;
let pollErrors = 0;
const pollErrorKinds = new Map<string, number>();
let taskSha = '';
/** Receipt times not yet sent to the parent. */
let unsent: number[] = [];
let flushTimer: NodeJS.Timeout | undefined;

const heartbeat = (a: SimAgent): Heartbeat => ({
  agentId: a.id,
  appVersion: 'bench',
  host: { hostname: a.id.slice(0, 8), platform: 'linux', release: 'bench', arch: 'x64' },
  startedAt: setup!.startedAt,
  heartbeatMs: setup!.heartbeatMs,
  queue: { objects: 0, bytes: 0, limitBytes: 1 << 30 },
  servers: [],
  policyRevision: 0,
  eventBacklog: 0,
});

async function sendHeartbeat(a: SimAgent): Promise<void> {
  const c = new RawHttpsConnection(setup!.host, a.port, a.ctx, a.tls);
  const t = performance.now();
  try {
    const r = await c.request('POST', AGENT_API.heartbeat, JSON.stringify(heartbeat(a)), false);
    if (r.status !== 200) throw new Error(`heartbeat ${r.status} ${r.body}`);
    if (measuring) {
      hbLatency.push(performance.now() - t);
      hbSent++;
      hbResumed += c.resumed;
    }
  } catch {
    if (measuring) hbFailed++;
  } finally {
    c.close();
  }
}

async function pollLoop(a: SimAgent): Promise<void> {
  while (!a.stopped) {
    try {
      const r = await a.poll.request('GET', `${AGENT_API.poll}?policyRevision=0&waitMs=${setup!.pollWaitMs}`);
      if (r.status !== 200) throw new Error(`poll ${r.status} ${r.body}`);
      const answer = JSON.parse(r.body) as PollResponse;
      const share = answer.tasks.find((t) => t.type === 'ioc-scan' && t.sha256 === taskSha);
      if (share && !a.gotTask) {
        a.gotTask = true;
        unsent.push(Date.now());
      }
      // On the poll's connection, now free: the real agent's keep-alive https.Agent reuses a free socket the same
      // way (a fresh one per acknowledgement also ran the simulator out of open files at 10,000 agents).
      if (share) await a.poll.request('POST', AGENT_API.taskProgress, JSON.stringify({ taskId: share.id, state: 'received', matches: [] }));
    } catch (err) {
      if (a.stopped) return;
      pollErrors++;
      const why = (err as Error).message.slice(0, 80);
      pollErrorKinds.set(why, (pollErrorKinds.get(why) ?? 0) + 1);
      await sleep(1000 + Math.random() * 1000);
    }
  }
}

/** Every agent's first heartbeat (to be online) while the polls connect, then until every poll is parked. */
async function connect(): Promise<void> {
  const s = setup!;
  const tc = Date.now();
  const firstRound = (async () => {
    for (let i = 0; i < agents.length; i += s.heartbeatBatch) await Promise.all(agents.slice(i, i + s.heartbeatBatch).map(sendHeartbeat));
  })();
  // Connect the polls in steps, as a fleet coming up would, rather than thousands of handshakes in the same millisecond.
  for (let i = 0; i < agents.length; i += s.connectStep) {
    for (const a of agents.slice(i, i + s.connectStep)) loops.push(pollLoop(a));
    await sleep(20);
  }
  await firstRound;
  const until = Date.now() + s.connectTimeoutMs;
  while (!agents.every((a) => a.poll.secured)) {
    if (Date.now() > until) throw new Error(`polls not connected in ${s.connectTimeoutMs / 1000} s`);
    await sleep(50);
  }
  await send({ type: 'connected', ms: Date.now() - tc });
}

/** The heartbeat window: every agent on its interval from a random phase, counted until measure-end. */
function measure(): void {
  const every = setup!.heartbeatMs;
  for (const a of agents) {
    timers.push(
      setTimeout(() => {
        void sendHeartbeat(a);
        timers.push(setInterval(() => void sendHeartbeat(a), every));
      }, Math.random() * every),
    );
  }
  measuring = true;
}

async function flush(): Promise<void> {
  if (!unsent.length) return;
  const at = unsent;
  unsent = [];
  await send({ type: 'received', at });
}

async function verdict(port: number, body: string): Promise<void> {
  const source = agents[0]!;
  const ev = new RawHttpsConnection(setup!.host, port, source.ctx, source.tls);
  const startedAt = Date.now();
  const r = await ev.request('POST', AGENT_API.events, body, false).finally(() => ev.close());
  await send({ type: 'verdict-answered', startedAt, createdMs: Date.now() - startedAt, status: r.status, body: r.body });
}

async function stop(): Promise<void> {
  for (const t of timers) clearTimeout(t);
  if (flushTimer) clearInterval(flushTimer);
  await flush();
  for (const a of agents) {
    a.stopped = true;
    a.poll.close();
  }
  await Promise.allSettled(loops);
  await send({ type: 'stopped', pollErrors, pollErrorKinds: [...pollErrorKinds] });
  // Heartbeats still in flight would keep the process alive for nothing.
  process.exit(0);
}

async function handle(m: ToSimulator): Promise<void> {
  switch (m.type) {
    case 'setup':
      setup = m;
      return;
    case 'agents':
      for (const spec of m.agents) {
        const ctx = createSecureContext({ key: setup!.keyPem, cert: spec.certPem, ca: setup!.caPem });
        const tls: TlsSessionCache = {};
        agents.push({
          id: spec.id,
          port: spec.port,
          ctx,
          tls,
          poll: new RawHttpsConnection(setup!.host, spec.port, ctx, tls),
          gotTask: false,
          stopped: false,
        });
      }
      return;
    case 'connect':
      return connect();
    case 'measure':
      return measure();
    case 'measure-end':
      measuring = false;
      return send({ type: 'heartbeats', latenciesMs: hbLatency, sent: hbSent, failed: hbFailed, resumed: hbResumed });
    case 'arm':
      taskSha = m.sha256;
      // Receipts go to the parent in batches: its clock is `at`, not when the message arrives.
      flushTimer = setInterval(() => void flush(), 100);
      return send({ type: 'armed' });
    case 'verdict':
      return verdict(m.port, m.body);
    case 'stop':
      return stop();
  }
}

process.on('message', (m: unknown) => {
  if (!isToSimulator(m)) return;
  handle(m).catch((err: unknown) => {
    void send({ type: 'failed', message: `${m.type}: ${(err as Error).message}` }).finally(() => process.exit(1));
  });
});
