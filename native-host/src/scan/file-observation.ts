import { basename, extname } from 'node:path';
import type { Stats } from 'node:fs';
import type { FileObservation, HashName } from '../ioc/observation.ts';
import { hashFile, type HashFileOptions, type HashFileResult, type Hashes } from './file-hasher.ts';

/** Reads a file once for the hashes named (`hashFile`, or a `HashPool`'s threads). */
export type HashReader = (path: string, needed: ReadonlySet<HashName>, opts: HashFileOptions) => Promise<HashFileResult>;

/** Counters shared by every observation of one scan. */
export interface ReadCounters {
  hashed: number;
  bytesRead: number;
}

/**
 * Hashes already computed in this scan, by file identity (device, inode, size, mtime): an executable run by forty
 * processes, or named by three autostart entries, is read once.
 */
export class HashCache {
  private readonly byId = new Map<string, Promise<Hashes>>();

  get(id: string): Promise<Hashes> | undefined {
    return this.byId.get(id);
  }

  set(id: string, p: Promise<Hashes>): void {
    this.byId.set(id, p);
  }
}

export interface FileObservationInput {
  /** The path reported (as found, never resolved). */
  path: string;
  stat: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtime' | 'mtimeMs'>;
  area?: string;
  /** Where the bytes are read from when not `path` (a process image through /proc/PID/exe). */
  readPath?: string;
  /** Hashes the plan named: read together with whatever `hashes()` asks for, so one read serves every term. */
  planned?: ReadonlySet<HashName>;
  /** Bytes of content the plan named (YARA): kept from the same read as the hashes. */
  plannedContent?: number;
  hashOptions?: HashFileOptions;
  cache?: HashCache;
  counters: ReadCounters;
  /**
   * Who reads for `hashes()` (default `hashFile` on this thread), with the planned content kept from the same read
   * (hashing threads send it back). Content the plan did not name is read on this thread.
   */
  reader?: HashReader;
}

export function fileIdentity(stat: FileObservationInput['stat']): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

export function fileFacts(path: string, stat: FileObservationInput['stat'], area?: string): Omit<FileObservation, 'hashes'> {
  const fileName = basename(path);
  return {
    document: 'FileItem',
    fullPath: path,
    fileName,
    fileExtension: extname(fileName).slice(1).toLowerCase(),
    size: stat.size,
    modified: stat.mtime,
    ...(area === undefined ? {} : { area }),
  };
}

export interface LazyFileObservation extends FileObservation {
  /** The hashes computed so far, without reading anything. */
  known(): Hashes;
}

/** A FileObservation whose hashes are read lazily, once, in one pass for every hash needed. */
export function fileObservation(input: FileObservationInput): LazyFileObservation {
  const id = fileIdentity(input.stat);
  let own: Promise<Hashes> | undefined;
  let known: Hashes = {};
  let prefix: Promise<Buffer> | undefined;
  let resolvePrefix: ((b: Buffer) => void) | undefined;
  const read = async (names: Set<HashName>, have: Hashes, keep?: number): Promise<Hashes> => {
    const r = await (input.reader ?? hashFile)(input.readPath ?? input.path, names, {
      expect: input.stat,
      sizeHint: input.stat.size,
      ...input.hashOptions,
      ...(keep !== undefined ? { keep } : {}),
    });
    input.counters.hashed++;
    input.counters.bytesRead += r.bytesRead;
    if (r.prefix) resolvePrefix?.(r.prefix);
    known = { ...have, ...r.hashes };
    return known;
  };
  /** The first read of this observation keeps the planned content, so hashes and content cost one read. */
  const wantPrefix = (): number | undefined => {
    if (!input.plannedContent || prefix) return undefined;
    prefix = new Promise<Buffer>((r) => (resolvePrefix = r));
    return input.plannedContent;
  };
  return {
    ...fileFacts(input.path, input.stat, input.area),
    known: () => known,
    async hashes(needed) {
      const current = own ?? input.cache?.get(id);
      const have = current ? await current : {};
      known = have;
      const missing = new Set<HashName>([...needed, ...(input.planned ?? [])].filter((n) => have[n] === undefined));
      if (missing.size === 0) return have;
      own = read(missing, have, wantPrefix());
      input.cache?.set(id, own);
      return own;
    },
    async content(maxBytes) {
      if (prefix && input.plannedContent && maxBytes <= input.plannedContent) {
        await own;
        return (await prefix).subarray(0, maxBytes);
      }
      // Not planned (or more than planned): a read of its own, with the planned hashes still missing.
      const have = own ? await own : {};
      const missing = new Set<HashName>([...(input.planned ?? [])].filter((n) => have[n] === undefined));
      const r = await hashFile(input.readPath ?? input.path, missing, {
        expect: input.stat,
        sizeHint: input.stat.size,
        ...input.hashOptions,
        keep: maxBytes,
      });
      input.counters.hashed++;
      input.counters.bytesRead += r.bytesRead;
      if (missing.size) known = { ...have, ...r.hashes };
      return r.prefix ?? Buffer.alloc(0);
    },
  };
}
