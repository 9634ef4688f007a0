import { mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SandgateError, type Job, type Provenance } from '@sandgate/shared';
import { crashPoint } from '../crash-point.ts';
import type { EventLog } from '../events/event-log.ts';
import { EventOutbox, outboxEvent, type OutboxEvent } from '../events/event-outbox.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { Clock } from '../clock.ts';
import { realClock } from '../clock.ts';
import { copyAndHash, type ChunkWriter } from './copy-and-hash.ts';
import { fsyncDir, tempName, TEMP_PREFIX, writeFileDurable, writeFileSynced } from '@sandgate/shared/durable-write';
import { GroupCommit } from './group-commit.ts';
import { JobJournal } from './job-journal.ts';
import { fileBody } from './object-body.ts';
import { openSubmittedFile } from './open-submitted-file.ts';
import { OBJECT_SUFFIX, RECORD_SUFFIX, queueRecordSchema, type QueueRecord } from './queue-record.ts';
import { applyJobChange, finishedJob, newQueuedJob, type ActionType, type JobChange, type JobEvent, type JobStore } from './job-store.ts';
import { QueueRoom } from './queue-room.ts';
import type { JobOutcome, Lease, ObjectQueue, QueueStats } from './object-queue.ts';
import { Serial } from './serial.ts';

/** An accept whose copy and record are on disk under temporary names, not yet in place. */
interface Admission {
  objectTmp: string;
  recordTmp: string;
  rec: QueueRecord;
}

export interface RequestQueueOptions {
  /** The request-queue folder (`sandgatePaths(home).queue`). */
  dir: string;
  /** Where finished jobs are journalled. */
  journalFile: string;
  /** `sandbox.requestQueueMaxBytes`: the queued objects may never take more than this. */
  maxBytes: number;
  /** `sandbox.maxObjectBytes`: no single object may be larger (unset: only the queue size limits it). */
  maxObjectBytes?: number;
  events: EventLog;
  log?: Logger;
  clock?: Clock;
  /** How many finished jobs to remember. */
  keepFinished?: number;
  /** Tests inject a writer that fails (ENOSPC) halfway. */
  writeChunk?: ChunkWriter;
}

/**
 * The durable request queue, and the job store that goes with it. Objects are copied in as `<sha256>.obj`, each job is
 * a `<jobId>.job.json` record, both written temp-then-rename so a crash leaves either no entry or a whole one. Work is
 * handed out with lease/commit: whatever was enqueued and not committed is there again after a restart.
 *
 * One class for both interfaces, on purpose (and why the file is past 300 lines): an object and its job's record are
 * renamed into place in the same group and made durable by one fsync of the folder they share (group commit, with
 * other accepts), removed in a fixed order (journal, record, object) in the same serial section, and replay after a
 * crash reads them together (a record without its object is set aside, an object without a record dropped). Split in
 * two, each half would need the other's folder, serial section, fsync and replay. Users depend on the interface they
 * need: the response actions on JobStore only. In memory, for tests, the two are apart (MemoryObjectQueue holds a
 * MemoryJobStore).
 */
export class RequestQueue implements ObjectQueue, JobStore {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxObjectBytes: number | undefined;
  private readonly events: EventLog;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly writeChunk: ChunkWriter | undefined;
  private readonly journal: JobJournal;
  private readonly outbox: EventOutbox;
  private readonly records = new Map<string, QueueRecord>();
  private readonly objects = new Map<string, number>();
  private readonly leased = new Set<string>();
  private readonly room: QueueRoom;
  private readonly serial = new Serial();
  private readonly group = new GroupCommit<Admission>((g) => this.commitGroup(g));

  private constructor(opts: RequestQueueOptions, journal: JobJournal) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes;
    this.maxObjectBytes = opts.maxObjectBytes;
    this.events = opts.events;
    this.log = opts.log ?? silentLogger;
    this.clock = opts.clock ?? realClock;
    this.writeChunk = opts.writeChunk;
    this.journal = journal;
    this.outbox = new EventOutbox(opts.events);
    this.room = new QueueRoom(opts);
  }

  static async open(opts: RequestQueueOptions): Promise<RequestQueue> {
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const journal = await JobJournal.open(opts.journalFile, opts.keepFinished);
    const q = new RequestQueue(opts, journal);
    await q.replay();
    return q;
  }

  /**
   * Validates and copies `path` into the queue. Throws SandgateError: PATH_*, FILE_*, OBJECT_OVER_MAX_SIZE,
   * OBJECT_TOO_LARGE, QUEUE_FULL, QUEUE_IO. When the same object is already waiting, the new job joins it. The size
   * checks use the size of the opened file, before any byte is copied. `events` are the job's first events
   * (`object-accepted`…), recorded with the job and logged once it is durable.
   */
  async enqueue(path: string, provenance: Provenance, events: (job: Job) => JobEvent[] = () => []): Promise<Job> {
    const { handle, size } = await openSubmittedFile(path);
    let tmp: string | undefined;
    let recordTmp: string | undefined;
    let reservedHere = 0;
    try {
      reservedHere = this.room.reserve(path, size, this.usedBytes());
      tmp = join(this.dir, tempName());
      const copied = await copyAndHash(handle, size, tmp, this.writeChunk);
      const now = this.clock.now();
      const job = newQueuedJob(path, provenance, copied, now);
      const outbox = events(job).map((e) => outboxEvent(job.jobId, e.what, { ...e.event, jobId: job.jobId }, now));
      const rec: QueueRecord = { format: 1, job, actionsStarted: [], logOffset: this.events.size(), outbox };
      recordTmp = join(this.dir, tempName());
      // The record is written and synced while the copy's fsync runs: both on disk before either is renamed.
      const written = await Promise.allSettled([
        copied.durable,
        writeFileSynced(recordTmp, JSON.stringify(rec)).catch((err: unknown) => {
          throw queueIo('The request could not be recorded', err);
        }),
      ]);
      for (const w of written) if (w.status === 'rejected') throw w.reason;
      // Made durable with whichever other accepts are waiting (commitGroup); only then is the job acknowledged.
      await this.group.join({ objectTmp: tmp, recordTmp, rec });
      tmp = recordTmp = undefined;
      this.outbox.deliver(rec.outbox);
      this.log.debug('accepted', { jobId: job.jobId, sha256: job.sha256, size: job.size });
      return job;
    } finally {
      this.room.release(reservedHere);
      await handle.close();
      for (const f of [tmp, recordTmp]) if (f) await unlink(f).catch(() => {});
    }
  }

  /** The oldest object nobody is working on, with all its jobs; undefined when there is none. */
  lease(): Lease | undefined {
    let best: { sha: string; at: string } | undefined;
    for (const r of this.records.values()) {
      const sha = r.job.sha256;
      if (this.leased.has(sha)) continue;
      if (!best || r.job.acceptedAt < best.at) best = { sha, at: r.job.acceptedAt };
    }
    if (!best) return undefined;
    this.leased.add(best.sha);
    const body = fileBody(this.objectPath(best.sha), this.objects.get(best.sha) ?? 0);
    return { sha256: best.sha, body, jobs: this.jobsFor(best.sha) };
  }

  /** Gives a leased object back unfinished; its jobs stay queued and will be leased again. */
  rollback(sha256: string): void {
    this.leased.delete(sha256);
  }

  /** The unfinished jobs for an object, including any that joined after it was leased. Oldest first. */
  jobsFor(sha256: string): Job[] {
    return [...this.records.values()]
      .filter((r) => r.job.sha256 === sha256)
      .map((r) => r.job)
      .sort((a, b) => (a.acceptedAt < b.acceptedAt ? -1 : 1));
  }

  /** Response actions already begun for a job (see QueueRecord.actionsStarted). */
  actionsStarted(jobId: string): readonly ActionType[] {
    return this.records.get(jobId)?.actionsStarted ?? [];
  }

  /**
   * Persists progress on an unfinished job (state, verdict, action results, actions begun) together with the events it
   * causes, which are logged once the record is durable and never twice (an event already recorded is not repeated).
   */
  async update(jobId: string, change: JobChange): Promise<Job> {
    return this.serial.run(async () => {
      const rec = this.records.get(jobId);
      if (!rec) throw new SandgateError('JOB_NOT_FOUND', `No unfinished job ${jobId}`, { params: { jobId } });
      const next = applyJobChange(rec, jobId, change, this.clock.now());
      await this.writeRecord(next);
      this.records.set(jobId, next);
      this.outbox.deliver(next.outbox);
      return next.job;
    });
  }

  /**
   * Records that an unfinished job's original now lives at `newPath` (a held download published before its verdict),
   * so response actions act on that file. Persisted like any update: a crash leaves the old record or the new one.
   * Returns false when the job is finished or unknown, or when its original is not at `fromPath` (someone else's move).
   */
  async relocate(jobId: string, fromPath: string, newPath: string): Promise<boolean> {
    return this.serial.run(async () => {
      const rec = this.records.get(jobId);
      if (!rec || rec.job.path !== fromPath) return false;
      const next: QueueRecord = { ...rec, job: { ...rec.job, path: newPath } };
      await this.writeRecord(next);
      this.records.set(jobId, next);
      return true;
    });
  }

  /**
   * Finishes a job: journalled first, then its record removed, then the object when no other job needs it. A crash in
   * between leaves a record whose job is already journalled; replay drops it rather than running it again.
   */
  async commit(jobId: string, outcome: JobOutcome): Promise<Job> {
    return this.serial.run(async () => {
      const rec = this.records.get(jobId);
      if (!rec) throw new SandgateError('JOB_NOT_FOUND', `No unfinished job ${jobId}`, { params: { jobId } });
      const finished = finishedJob(rec.job, outcome, this.clock.now());
      // The record vouches for the job's events until it is removed: they must be on disk before it goes.
      this.outbox.deliver(rec.outbox);
      if (rec.outbox.length) this.outbox.sync();
      await this.journal.append(finished);
      crashPoint('mid-commit');
      this.records.delete(jobId);
      this.outbox.forget(rec.outbox);
      await unlink(join(this.dir, jobId + RECORD_SUFFIX)).catch(() => {});
      const sha = rec.job.sha256;
      if (![...this.records.values()].some((r) => r.job.sha256 === sha)) {
        await unlink(this.objectPath(sha)).catch(() => {});
        this.objects.delete(sha);
        this.room.freed(this.usedBytes());
      }
      await fsyncDir(this.dir);
      return finished;
    });
  }

  get(jobId: string): Job | undefined {
    return this.records.get(jobId)?.job ?? this.journal.get(jobId);
  }

  /** Unfinished and finished jobs, newest first. */
  list(limit: number): Job[] {
    const open = [...this.records.values()].map((r) => r.job).sort((a, b) => (a.acceptedAt < b.acceptedAt ? 1 : -1));
    return [...open, ...this.journal.recent(limit)].slice(0, limit);
  }

  stats(): QueueStats {
    return { objects: this.objects.size, bytes: this.usedBytes(), limitBytes: this.maxBytes };
  }

  isFull(): boolean {
    return this.room.isFull();
  }

  private usedBytes(): number {
    let n = 0;
    for (const s of this.objects.values()) n += s;
    return n;
  }

  private objectPath(sha256: string): string {
    return join(this.dir, sha256 + OBJECT_SUFFIX);
  }

  /**
   * Group commit (issue 15): the accepts waiting, each with its copy and record already synced, are renamed into place
   * in one serial section and their directory entries made durable by one fsync of the folder; each is answered only
   * then. Alone, an accept costs two fsyncs one after the other (its copy and record side by side, then the folder)
   * instead of three; a group of n shares one folder fsync. A crash anywhere in a group acknowledges nothing that is
   * not durable: renamed files are whole (each was synced first), files not yet renamed are debris for replay.
   */
  private async commitGroup(group: Admission[]): Promise<Array<Error | undefined>> {
    const answers: Array<Error | undefined> = [];
    await this.serial.run(async () => {
      for (const a of group) {
        answers.push(
          await this.admit(a.objectTmp, a.recordTmp, a.rec).then(
            () => undefined,
            (err: unknown) => queueIo('The request could not be recorded', err),
          ),
        );
      }
    });
    crashPoint('mid-group-commit');
    if (answers.some((e) => !e)) {
      const failed = await fsyncDir(this.dir).then(
        () => undefined,
        (err: unknown) => queueIo('The request may not have been recorded durably', err),
      );
      if (failed) for (const i of answers.keys()) answers[i] ??= failed;
    }
    return answers;
  }

  /** Moves the copied object and the written record into place and makes the job visible. Runs inside `serial`. */
  private async admit(objectTmp: string, recordTmp: string, rec: QueueRecord): Promise<void> {
    const { jobId, sha256, size } = rec.job;
    const joined = this.objects.has(sha256);
    try {
      if (joined) await unlink(objectTmp);
      else {
        await rename(objectTmp, this.objectPath(sha256));
        this.objects.set(sha256, size);
      }
      await rename(recordTmp, join(this.dir, jobId + RECORD_SUFFIX));
    } catch (err) {
      if (!joined && ![...this.records.values()].some((r) => r.job.sha256 === sha256)) {
        await unlink(this.objectPath(sha256)).catch(() => {});
        this.objects.delete(sha256);
      }
      throw queueIo('The request could not be recorded', err);
    }
    this.records.set(jobId, rec);
  }

  private async writeRecord(rec: QueueRecord): Promise<void> {
    await writeFileDurable(this.dir, rec.job.jobId + RECORD_SUFFIX, JSON.stringify(rec));
  }

  /** Rebuilds the in-memory view from the folder: debris removed, unreadable records set aside, orphans dropped. */
  private async replay(): Promise<void> {
    const names = await readdir(this.dir);
    const objectFiles = new Set<string>();
    for (const name of names) {
      const full = join(this.dir, name);
      if (name.startsWith(TEMP_PREFIX)) {
        await unlink(full).catch(() => {});
      } else if (name.endsWith(OBJECT_SUFFIX)) {
        const st = await stat(full).catch(() => undefined);
        if (st?.isFile()) {
          const sha = name.slice(0, -OBJECT_SUFFIX.length);
          this.objects.set(sha, st.size);
          objectFiles.add(sha);
        }
      }
    }
    const valid: Array<{ name: string; rec: QueueRecord }> = [];
    for (const name of names) {
      if (!name.endsWith(RECORD_SUFFIX)) continue;
      const rec = await readRecord(join(this.dir, name));
      if (!rec || rec.job.jobId + RECORD_SUFFIX !== name) {
        await this.setAside(name, 'the record is unreadable');
        continue;
      }
      valid.push({ name, rec });
    }
    // Events recorded before the crash and perhaps not logged: written now, each once, before anything else happens.
    this.recoverEvents(valid.map((v) => v.rec));
    for (const { name, rec } of valid) {
      const full = join(this.dir, name);
      if (this.journal.has(rec.job.jobId)) {
        this.outbox.sync();
        await unlink(full).catch(() => {});
        this.outbox.forget(rec.outbox);
        continue;
      }
      if (!objectFiles.has(rec.job.sha256)) {
        await this.setAside(name, 'its object file is missing', rec.job);
        continue;
      }
      // An analysis cut short by the crash starts over; a verdict already recorded is kept and not asked for again.
      if (rec.job.state === 'analysing' && !rec.job.verdict) rec.job.state = 'queued';
      this.records.set(rec.job.jobId, rec);
    }
    for (const sha of objectFiles) {
      if (![...this.records.values()].some((r) => r.job.sha256 === sha)) {
        await unlink(this.objectPath(sha)).catch(() => {});
        this.objects.delete(sha);
      }
    }
    await fsyncDir(this.dir);
    if (this.records.size) this.log.info('replayed unfinished requests', { jobs: this.records.size, objects: this.objects.size });
  }

  private recoverEvents(records: QueueRecord[]): void {
    const pending: OutboxEvent[] = records.flatMap((r) => r.outbox);
    if (!pending.length) return;
    const from = Math.min(...records.filter((r) => r.outbox.length).map((r) => r.logOffset ?? 0));
    const written = this.outbox.recover(pending, from);
    if (written) this.log.info('logged events a crash had cut off', { events: written });
  }

  private async setAside(name: string, why: string, job?: Job): Promise<void> {
    const corrupt = join(this.dir, 'corrupt');
    await mkdir(corrupt, { recursive: true, mode: 0o700 });
    await rename(join(this.dir, name), join(corrupt, name)).catch(() => {});
    this.events.append({
      type: 'queue-entry-corrupt',
      code: 'QUEUE_ENTRY_CORRUPT',
      message: `${name}: ${why}; moved to ${corrupt}`,
      ...(job ? { jobId: job.jobId, sha256: job.sha256, path: job.path } : {}),
    });
  }
}

async function readRecord(file: string): Promise<QueueRecord | undefined> {
  try {
    const r = queueRecordSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

function queueIo(what: string, err: unknown): SandgateError {
  if (err instanceof SandgateError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new SandgateError('QUEUE_IO', `${what} (${code ?? 'error'})`, { cause: err, params: { errno: code } });
}
