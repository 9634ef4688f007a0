import { createHash } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TEMP_PREFIX, writeFileDurable } from '@sandgate/shared/durable-write';

// Journals of JSON lines (finished jobs, remembered verdicts) where each line carries a digest of itself, so a byte
// flipped on disk inside otherwise valid JSON is noticed (a sha256 turned into another sha256, "clean" kept as
// "clean" for other bytes) rather than believed. A torn last line after a crash fails the same check. The digest
// detects damage, not tampering: whoever can write the file (the user's own, mode 0600) can recompute it.

const DIGEST_HEX = 16;

const digest = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, DIGEST_HEX);

/** One journal line: `<digest> <json>\n`. */
export function sealLine(value: unknown): string {
  const json = JSON.stringify(value);
  return `${digest(json)} ${json}\n`;
}

export interface SealedRead {
  /** The parsed JSON of every intact line, oldest first (not yet checked against any schema). */
  values: unknown[];
  /** Lines read, intact or not. */
  lines: number;
  /** Lines whose digest did not match, did not parse, or (without `legacy`) had no digest. */
  damaged: number;
  /** Lines to reseal at the next rewrite: damaged ones, unsealed legacy ones, and a last line with no newline. */
  unclean: boolean;
}

/**
 * Reads a journal written with `sealLine`, after removing temp files a rewrite cut short by a crash left in its
 * folder. `legacy` accepts unsealed JSON lines written before lines were sealed (for history worth keeping across
 * an upgrade; they are sealed at the next rewrite).
 */
export async function readSealedLines(file: string, opts: { legacy?: boolean } = {}): Promise<SealedRead> {
  const dir = dirname(file);
  for (const name of await readdir(dir).catch(() => [])) {
    if (name.startsWith(TEMP_PREFIX)) await unlink(join(dir, name)).catch(() => {});
  }
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return parseSealedLines(text, opts);
}

/**
 * The same reading of a journal's text, with no side effect: for readers beside the writer (the Critical Areas Scan,
 * the console channel) that must never touch the journal's folder while the agent may be rewriting it.
 */
export function parseSealedLines(text: string, opts: { legacy?: boolean } = {}): SealedRead {
  const out: SealedRead = { values: [], lines: 0, damaged: 0, unclean: text.length > 0 && !text.endsWith('\n') };
  for (const line of text.split('\n')) {
    if (!line) continue;
    out.lines++;
    const opened = openLine(line, opts.legacy === true);
    if (opened === undefined) out.damaged++;
    else out.values.push(opened.value);
    if (opened?.sealed !== true) out.unclean = true;
  }
  return out;
}

function openLine(line: string, legacy: boolean): { value: unknown; sealed: boolean } | undefined {
  let json = line;
  const sealed = line.charCodeAt(DIGEST_HEX) === 0x20 && /^[0-9a-f]+$/.test(line.slice(0, DIGEST_HEX));
  if (sealed) {
    json = line.slice(DIGEST_HEX + 1);
    if (digest(json) !== line.slice(0, DIGEST_HEX)) return undefined;
  } else if (!legacy) {
    return undefined;
  }
  try {
    return { value: JSON.parse(json) as unknown, sealed };
  } catch {
    return undefined;
  }
}

/** Replaces the journal with exactly these values, sealed (temp file, fsync, rename, folder fsync). */
export function rewriteSealed(file: string, values: readonly unknown[]): Promise<void> {
  return writeFileDurable(dirname(file), basename(file), values.map(sealLine).join(''));
}
