/**
 * What a dead first server costs: the policy's first server is black-holed (accepts TCP, never answers TLS), the
 * second is sandgate-lab on loopback. Beside it, in the same run, an agent whose policy names only the lab.
 *
 *   npx node bench/failover.ts [--n 100] [--fresh 5]
 *
 * Agents run in this process (the agent core, `createAgent`, without IPC), each with its own home, all talking to the
 * same lab over pinned TLS with the policy defaults (connectTimeoutMs 500). Each figure is the wall time from `submit`
 * to the job being done (queue copy, hash look-up, upload, the lab's analysis, the verdict), one object at a time,
 * every object new to the lab so its verdict cache never answers. The lab is warmed first by a throw-away agent, so
 * its own cold start is not counted against either side.
 * - first verdict: the first object a freshly started agent sends (fresh TLS to the lab, nothing known about the dead
 *   server). Measured on `--fresh` new pairs of agents, median reported. With the dead server first it pays the
 *   connect timeout once; the budget is connectTimeoutMs + 100 ms.
 * - later requests: `--n` more objects through one pair, alternating between the two agents so drift hits both alike.
 *   The dead server is skipped until a probe finds it healthy (never, here), so its extra cost per request should be
 *   near zero (target < 5 ms): reported as the median of the per-pair differences, and as the difference of medians.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policySchema, type Job } from '@sandgate/shared';
import { createAgent, type Agent } from '#native-host/agent/agent.ts';
import type { LoadedPolicy } from '#native-host/config/load-policy.ts';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { startBlackHole, type FaultyServer } from '../test/helpers/faulty-servers.ts';
import { summarize, type Summary } from './lib/stats.ts';
import { ms, table, writeResult } from './lib/report.ts';

const nArg = process.argv.indexOf('--n');
const N = nArg > 0 ? Number(process.argv[nArg + 1]) : 100;
const freshArg = process.argv.indexOf('--fresh');
const FRESH = freshArg > 0 ? Number(process.argv[freshArg + 1]) : 5;

interface Timed {
  agent: Agent;
  done: Map<string, () => void>;
}

function loaded(root: string, servers: string[], lab: RunningLab): LoadedPolicy {
  // Every server gets the lab's token; the dead one never gets far enough to see it.
  const policy = policySchema.parse({
    sandbox: { servers: servers.map((url) => ({ url, token: lab.token })), serverCertificate: lab.certPath },
  });
  return { policy, path: join(root, 'policy.json'), serverCa: readFileSync(lab.certPath, 'utf8') };
}

async function startAgent(root: string, name: string, l: LoadedPolicy): Promise<Timed> {
  const agent = await createAgent({ home: join(root, name), loaded: l, appVersion: 'bench' });
  const done = new Map<string, () => void>();
  agent.onJobUpdate((j: Job) => {
    if (j.state === 'done' || j.state === 'error') done.get(j.jobId)?.();
  });
  return { agent, done };
}

/** Milliseconds from `submit` to the job being done, for one new object. */
async function timeOne(t: Timed, dir: string, tag: string): Promise<number> {
  const path = join(dir, `${tag}.exe`);
  writeFileSync(path, Buffer.concat([Buffer.from(`MZ failover bench ${tag} `), randomBytes(4096)]));
  const t0 = performance.now();
  let resolveDone!: () => void;
  const finished = new Promise<void>((r) => (resolveDone = r));
  const { jobId } = await t.agent.submit(path, { source: 'cli' });
  t.done.set(jobId, resolveDone);
  // The job may have finished before the listener was keyed to it.
  const now = t.agent.getJob(jobId);
  if (now?.state === 'done' || now?.state === 'error') resolveDone();
  await finished;
  const elapsed = performance.now() - t0;
  const job = t.agent.getJob(jobId);
  if (job?.state !== 'done' || !job.verdict) throw new Error(`${tag}: no verdict (${job?.error?.code ?? job?.state})`);
  return elapsed;
}

const root = mkdtempSync(join(tmpdir(), 'sg-bench-failover-'));
const downloads = join(root, 'downloads');
mkdirSync(downloads);
let lab: RunningLab | undefined;
let hole: FaultyServer | undefined;
const agents: Timed[] = [];
let connectTimeoutMs = 0;
const firstDead: number[] = [];
const firstBaseline: number[] = [];
const laterDead: number[] = [];
const laterBaseline: number[] = [];
let homes = 0;
const fresh = async (l: LoadedPolicy): Promise<Timed> => {
  const t = await startAgent(root, `home-${homes++}`, l);
  agents.push(t);
  return t;
};
const closeAll = async () => {
  for (const a of agents.splice(0)) await a.agent.close();
};
try {
  lab = await startLab({ port: 0, host: '127.0.0.1', dataDir: join(root, 'lab') });
  hole = await startBlackHole();
  const deadFirst = loaded(root, [hole.url, lab.url], lab);
  const labOnly = loaded(root, [lab.url], lab);
  connectTimeoutMs = deadFirst.policy.sandbox.connectTimeoutMs;

  const warm = await fresh(labOnly);
  for (let i = 0; i < 5; i++) await timeOne(warm, downloads, `warm-${i}`);
  await closeAll();

  for (let r = 0; r < FRESH; r++) {
    // Alternate which side goes first, so neither always meets the lab right after the other.
    const order = r % 2 === 0 ? (['dead', 'base'] as const) : (['base', 'dead'] as const);
    for (const side of order) {
      const t = await fresh(side === 'dead' ? deadFirst : labOnly);
      (side === 'dead' ? firstDead : firstBaseline).push(await timeOne(t, downloads, `first-${side}-${r}`));
    }
    await closeAll();
    process.stderr.write(`\rfirst verdicts ${r + 1}/${FRESH}   `);
  }
  process.stderr.write('\n');

  const dead = await fresh(deadFirst);
  const baseline = await fresh(labOnly);
  await timeOne(dead, downloads, 'dead-opening');
  await timeOne(baseline, downloads, 'baseline-opening');
  for (let i = 0; i < N; i++) {
    laterBaseline.push(await timeOne(baseline, downloads, `baseline-${i}`));
    laterDead.push(await timeOne(dead, downloads, `dead-${i}`));
    process.stderr.write(`\rlater requests ${i + 1}/${N} pairs   `);
  }
  process.stderr.write('\n');
  const skipped = dead.agent.status().servers[0];
  if (!skipped?.skippedUntilProbe) throw new Error('the black hole was not skipped; the figures would not mean what they say');
} finally {
  await closeAll();
  await hole?.close();
  await lab?.close();
  rmSync(root, { recursive: true, force: true });
}

const budgetMs = connectTimeoutMs + 100;
const f = { dead: summarize(firstDead), base: summarize(firstBaseline) };
const dead: Summary = summarize(laterDead);
const base: Summary = summarize(laterBaseline);
const paired: Summary = summarize(laterDead.map((d, i) => d - laterBaseline[i]!));
const one = (n: number) => n.toFixed(1);
process.stdout.write(
  table(
    ['dead first server (ms)', 'n', 'median', 'p95', 'beside'],
    [
      [
        'first verdict, black hole first',
        f.dead.n,
        ms(f.dead.median),
        ms(f.dead.p95),
        `budget ${budgetMs} (connectTimeoutMs ${connectTimeoutMs} + 100)`,
      ],
      ['first verdict, lab only (baseline)', f.base.n, ms(f.base.median), ms(f.base.p95), ''],
      [
        '  cost of the dead server (difference of medians)',
        f.dead.n,
        ms(f.dead.median - f.base.median),
        '',
        `connectTimeoutMs ${connectTimeoutMs}`,
      ],
      ['later requests, black hole first', dead.n, one(dead.median), one(dead.p95), ''],
      ['later requests, lab only (baseline)', base.n, one(base.median), one(base.p95), ''],
      ['  extra cost per request (median of pair differences)', paired.n, one(paired.median), '', 'target < 5'],
      ['  extra cost per request (difference of medians)', dead.n, one(dead.median - base.median), '', 'target < 5'],
    ],
  ) + '\n',
);
const file = writeResult('failover', {
  n: N,
  fresh: FRESH,
  unit: 'ms',
  connectTimeoutMs,
  budgetMs,
  firstVerdict: { deadFirst: f.dead, baseline: f.base, withinBudget: f.dead.median <= budgetMs },
  later: { deadFirst: dead, baseline: base, pairedExtra: paired, extraMedianDifference: dead.median - base.median, target: 5 },
  samples: { firstDead, firstBaseline, laterDead, laterBaseline },
});
process.stdout.write(`result: ${file}\n`);
