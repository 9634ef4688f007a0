import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '#native-host/events/event-log.ts';
import { RequestQueue } from '#native-host/queue/request-queue.ts';

const src = resolve(import.meta.dirname, '../../../../native-host/src');
let root: string;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-crash-')));
  mkdirSync(join(root, 'Downloads'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const openQueue = () =>
  RequestQueue.open({
    dir: join(root, 'queue'),
    journalFile: join(root, 'jobs', 'finished.jsonl'),
    maxBytes: 256 * 1024 * 1024,
    events: new EventLog(join(root, 'events')),
  });

/** Runs `body` in a real child process that has the queue open; the child kills itself with SIGKILL at `// KILL`. */
function runChild(body: string, onLine?: (line: string, kill: () => void) => void): Promise<void> {
  const script = join(root, 'child.mts');
  writeFileSync(
    script,
    `import { RequestQueue } from ${JSON.stringify(pathToFileURL(join(src, 'queue/request-queue.ts')).href)};
     import { EventLog } from ${JSON.stringify(pathToFileURL(join(src, 'events/event-log.ts')).href)};
     const root = ${JSON.stringify(root)};
     const q = await RequestQueue.open({ dir: root + '/queue', journalFile: root + '/jobs/finished.jsonl', maxBytes: 256 * 1024 * 1024, events: new EventLog(root + '/events') });
     ${body}`,
  );
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        onLine?.(line, () => child.kill('SIGKILL'));
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolvePromise() : reject(new Error(`child exited without being killed (${_code})`)),
    );
  });
}

describe('request queue and a killed agent', () => {
  it('a job leased and half-processed when the process was killed is there again, with its recorded progress', async () => {
    writeFileSync(join(root, 'Downloads', 'a.exe'), 'MZ crash');
    let jobId = '';
    await runChild(
      `const job = await q.enqueue(root + '/Downloads/a.exe', { source: 'cli' });
       q.lease();
       await q.update(job.jobId, { job: { state: 'analysing', verdict: { level: 'malicious', server: 'https://127.0.0.1:1' } } });
       console.log(job.jobId);
       process.kill(process.pid, 'SIGKILL');`,
      (line) => (jobId = line),
    );
    const q = await openQueue();
    const lease = q.lease();
    expect(lease?.jobs.map((j) => j.jobId)).toEqual([jobId]);
    expect(lease?.jobs[0]?.verdict?.level).toBe('malicious');
    expect(readFileSync(join(root, 'queue', `${lease!.sha256}.obj`), 'utf8')).toBe('MZ crash');
  });

  it('killed in the middle of copying a large object, it leaves either no entry or a whole one, never a fragment', async () => {
    const content = randomBytes(64 * 1024 * 1024);
    writeFileSync(join(root, 'Downloads', 'big.iso'), content);
    await runChild(
      `console.log('copying');
       await q.enqueue(root + '/Downloads/big.iso', { source: 'cli' });
       console.log('accepted');
       await new Promise(() => {});`,
      (_line, kill) => kill(),
    );
    const q = await openQueue();
    const names = readdirSync(join(root, 'queue'));
    expect(names.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    const jobs = q.list(10);
    if (jobs.length === 0) {
      expect(names).toEqual([]);
    } else {
      const sha = createHash('sha256').update(content).digest('hex');
      expect(jobs).toEqual([expect.objectContaining({ sha256: sha, size: content.length })]);
      expect(
        createHash('sha256')
          .update(readFileSync(join(root, 'queue', `${sha}.obj`)))
          .digest('hex'),
      ).toBe(sha);
    }
    expect(existsSync(join(root, 'Downloads', 'big.iso'))).toBe(true);
  });
});
