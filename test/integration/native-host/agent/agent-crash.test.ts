import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_HEADERS, type Job } from '@sandgate/shared';
import type { CrashPointName } from '#native-host/crash-point.ts';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { startLab } from '#lab/lab-server.ts';
import { makeCa, makeLeaf, type Pem } from '#test-helpers/pki.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

/**
 * The real agent (createAgent in a child process, real quarantine store) against a real sandgate-lab on loopback,
 * killed with SIGKILL at each crash point (SANDGATE_CRASH_AT, native-host/src/crash-point.ts) and started again
 * without it. Between the agent and the lab sits a TLS proxy that counts uploads per SHA-256, so "uploaded at most
 * once across both runs" is measured on the wire, not taken from the agent's word.
 */

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const CLEAN = '%PDF-1.7\n% a harmless report\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const AGENT_CHILD = resolve(import.meta.dirname, '../../../helpers/agent-child.ts');

const POINTS: CrashPointName[] = [
  // Inside the queue's group commit: in place but not acknowledged (the submission is answered by no job id).
  'mid-group-commit',
  'after-accept',
  'after-submit-before-verdict',
  'after-verdict-recorded',
  'after-quarantine-started',
  'after-quarantine-returned',
  'after-quarantine-done-before-commit',
  'mid-commit',
  // Between a durable step and the event that reports it: the event is in the job's record, not yet in the log.
  'before-event:object-accepted',
  'before-event:object-submitted',
  'before-event:verdict',
  'before-event:quarantined',
  // Just after it: the event is logged, and must not be logged again.
  'after-event:object-accepted',
  'after-event:verdict',
  'after-event:quarantined',
];

let ca: ReturnType<typeof makeCa>;
let leaf: Pem;
let root: string;

beforeAll(() => {
  ca = makeCa();
  leaf = makeLeaf(ca);
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-agent-crash-')));
  writeFileSync(join(root, 'ca.pem'), ca.cert);
  writeFileSync(join(root, 'leaf.pem'), leaf.cert);
  writeFileSync(join(root, 'leaf.key'), leaf.key, { mode: 0o600 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  signal: NodeJS.Signals | null;
  code: number | null;
  accepted: string[];
  jobs: Job[] | undefined;
  stderr: string;
}

function runAgent(home: string, files: string[], crashAt?: CrashPointName): Promise<Run> {
  const env = { ...process.env };
  delete env['SANDGATE_CRASH_AT'];
  if (crashAt) env['SANDGATE_CRASH_AT'] = crashAt;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [AGENT_CHILD, home, ...files], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Only turns a hang into a readable failure; a healthy run takes well under a second.
    const timer = setTimeout(() => child.kill('SIGTERM'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { accepted?: string; jobs?: Job[] });
      resolvePromise({
        code,
        signal,
        stderr,
        accepted: lines.flatMap((l) => (l.accepted ? [l.accepted] : [])),
        jobs: lines.find((l) => l.jobs)?.jobs,
      });
    });
  });
}

/** An HTTPS proxy in front of the lab that counts `POST /api/v1/submissions` per SHA-256. */
async function countingProxy(upstream: string): Promise<{ url: string; uploads: Map<string, number>; close(): Promise<void> }> {
  const uploads = new Map<string, number>();
  const target = new URL(upstream);
  const server: Server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/api/v1/submissions')) {
      const s = String(req.headers[LAB_HEADERS.sha256]);
      uploads.set(s, (uploads.get(s) ?? 0) + 1);
    }
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        ca: ca.cert,
        servername: undefined,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    uploads,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('the agent killed at any point of the pipeline', () => {
  it.each(POINTS)(
    'killed at %s, it finishes every request after a restart, uploading each object at most once, quarantining once and logging every event once',
    async (point) => {
      const dir = join(root, point);
      const home = join(dir, 'home');
      const downloads = join(dir, 'Downloads');
      mkdirSync(home, { recursive: true, mode: 0o700 });
      mkdirSync(downloads, { recursive: true });
      const lab = await startLab({
        port: 0,
        host: '127.0.0.1',
        dataDir: join(dir, 'lab'),
        tlsCert: join(root, 'leaf.pem'),
        tlsKey: join(root, 'leaf.key'),
      });
      const proxy = await countingProxy(lab.url);
      try {
        writeFileSync(
          join(home, 'policy.json'),
          JSON.stringify({ sandbox: { servers: [{ url: proxy.url, token: lab.token }], serverCertificate: join(root, 'ca.pem') } }),
        );
        const eicar = join(downloads, 'eicar.com');
        const clean = join(downloads, 'report.pdf');
        writeFileSync(eicar, EICAR);
        writeFileSync(clean, CLEAN);

        const first = await runAgent(home, [eicar, clean], point);
        expect(first.signal, `the first run should die at ${point}:\n${first.stderr}`).toBe('SIGKILL');
        const second = await runAgent(home, [eicar, clean]);
        expect(second.code, second.stderr).toBe(0);

        // Every request accepted in either run finished with a verdict, and each download is one job.
        const jobs = second.jobs!;
        for (const id of [...first.accepted, ...second.accepted]) expect(jobs.map((j) => j.jobId)).toContain(id);
        expect(jobs.map((j) => j.path).sort()).toEqual([eicar, clean].sort());
        const byPath = new Map(jobs.map((j) => [j.path, j]));
        expect(byPath.get(eicar)).toMatchObject({ state: 'done', verdict: { level: 'malicious', threat: 'EICAR-Test-File' } });
        expect(byPath.get(eicar)?.actions).toEqual([{ type: 'quarantine', status: 'done', id: expect.any(String) }]);
        expect(byPath.get(clean)).toMatchObject({ state: 'done', verdict: { level: 'clean' } });

        // Uploaded once in total (the lab is new, so at least once): the second run finds by hash what the first one
        // sent, or already has its verdict.
        for (const s of [sha(EICAR), sha(CLEAN)]) expect(proxy.uploads.get(s) ?? 0).toBe(1);

        // Quarantined exactly once, the original gone, the clean file untouched.
        expect(QuarantineStore.open(home).list()).toEqual([
          expect.objectContaining({ id: byPath.get(eicar)!.actions![0]!.id, sha256: sha(EICAR), originalPath: eicar }),
        ]);
        expect(existsSync(eicar)).toBe(false);
        expect(readFileSync(clean, 'utf8')).toBe(CLEAN);
        expect(readdirSync(downloads)).toEqual(['report.pdf']);
        const { events, unreadable } = new EventLog(sandgatePaths(home).events).read();
        expect(unreadable).toBe(0);
        expect(events.filter((e) => e.type === 'quarantined')).toEqual([
          expect.objectContaining({ jobId: byPath.get(eicar)!.jobId, path: eicar }),
        ]);
        // Every event of every job exactly once, whichever step the crash cut off: what `sandgate events` and the
        // console see is what happened.
        for (const job of jobs) {
          const mine = events.filter((e) => e.jobId === job.jobId);
          const count = (type: string) => mine.filter((e) => e.type === type).length;
          expect(count('object-accepted'), `${point}: object-accepted of ${job.path}`).toBe(1);
          expect(count('object-submitted'), `${point}: object-submitted of ${job.path}`).toBe(1);
          expect(count('verdict'), `${point}: verdict of ${job.path}`).toBe(1);
          expect(mine.find((e) => e.type === 'verdict')?.level).toBe(job.verdict?.level);
        }
        const ids = events.flatMap((e) => (e.eventId ? [e.eventId] : []));
        expect(new Set(ids).size).toBe(ids.length);

        // Nothing left behind in the queue.
        expect(readdirSync(sandgatePaths(home).queue).filter((n) => n !== 'corrupt')).toEqual([]);
      } finally {
        await proxy.close();
        await lab.close();
      }
    },
    30_000,
  );
});

describe('the agent killed as a threat response creates or starts its Critical Areas Scan', () => {
  it.each([
    'before-event:scan-task-created',
    'after-event:scan-task-created',
    'before-event:scan-task-started',
    'after-event:scan-task-started',
  ] as CrashPointName[])(
    'killed at %s, the task exists once and each of its events is logged once',
    async (point) => {
      const dir = join(root, `cas-${point}`);
      const home = join(dir, 'home');
      const downloads = join(dir, 'Downloads');
      mkdirSync(home, { recursive: true, mode: 0o700 });
      mkdirSync(downloads, { recursive: true });
      const lab = await startLab({
        port: 0,
        host: '127.0.0.1',
        dataDir: join(dir, 'lab'),
        tlsCert: join(root, 'leaf.pem'),
        tlsKey: join(root, 'leaf.key'),
      });
      try {
        const policy = {
          sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: join(root, 'ca.pem') },
          response: { quarantine: true, criticalAreasScan: true },
        };
        writeFileSync(join(home, 'policy.json'), JSON.stringify(policy));
        const eicar = join(downloads, 'eicar.com');
        writeFileSync(eicar, EICAR);

        const first = await runAgent(home, [eicar], point);
        expect(first.signal, `the first run should die at ${point}:\n${first.stderr}`).toBe('SIGKILL');
        const second = await runAgent(home, [eicar]);
        expect(second.code, second.stderr).toBe(0);

        const job = second.jobs!.find((j) => j.path === eicar)!;
        const cas = job.actions?.find((a) => a.type === 'critical-areas-scan');
        expect(cas).toMatchObject({ status: 'scheduled', id: expect.any(String) });
        const { events } = new EventLog(sandgatePaths(home).events).read();
        const mine = events.filter((e) => e.taskId === cas!.id);
        expect(
          mine.filter((e) => e.type === 'scan-task-created'),
          point,
        ).toHaveLength(1);
        expect(mine.filter((e) => e.type === 'scan-task-started').length, point).toBeLessThanOrEqual(1);
        // No task was made twice for the one threat.
        expect(new Set(events.filter((e) => e.type === 'scan-task-created').map((e) => e.taskId)).size).toBe(1);
        const ids = events.flatMap((e) => (e.eventId ? [e.eventId] : []));
        expect(new Set(ids).size).toBe(ids.length);
      } finally {
        await lab.close();
      }
    },
    60_000,
  );
});
