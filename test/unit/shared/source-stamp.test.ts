import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshCompiled, sourceStamp } from '../../../shared/bin/source-stamp.mjs';

// The bin shims run the install-time bundle only while its stamp matches the sources; any edit makes them run the
// TypeScript instead, so a stale bundle never runs.
let root: string;
let src: string;
let entry: URL;
let stampFile: URL;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sandgate-stamp-'));
  src = join(root, 'src');
  mkdirSync(join(src, 'room'), { recursive: true });
  writeFileSync(join(src, 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(src, 'room', 'b.ts'), 'export const b = 2;\n');
  mkdirSync(join(root, 'dist', 'bin'), { recursive: true });
  writeFileSync(join(root, 'dist', 'bin', 'entry.js'), '// bundle\n');
  entry = pathToFileURL(join(root, 'dist', 'bin', 'entry.js'));
  stampFile = pathToFileURL(join(root, 'dist', 'stamp.json'));
  writeFileSync(stampFile, JSON.stringify({ roots: ['../src/'], stamp: sourceStamp([src]) }));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the compiled bundle runs only while it matches its sources', () => {
  it('runs when nothing changed since the build', () => {
    expect(freshCompiled(entry, stampFile)?.href).toBe(entry.href);
  });

  it('not after a source file was edited, even to the same size with an old time stamp', () => {
    writeFileSync(join(src, 'room', 'b.ts'), 'export const b = 3;\n');
    utimesSync(join(src, 'room', 'b.ts'), new Date(2000, 0, 1), new Date(2000, 0, 1));
    expect(freshCompiled(entry, stampFile)).toBeUndefined();
  });

  it('not after a file was added or removed', () => {
    writeFileSync(join(src, 'room', 'c.ts'), '');
    expect(freshCompiled(entry, stampFile)).toBeUndefined();
    unlinkSync(join(src, 'room', 'c.ts'));
    unlinkSync(join(src, 'a.ts'));
    expect(freshCompiled(entry, stampFile)).toBeUndefined();
  });

  it('not when the bundle or its stamp is missing or unreadable', () => {
    writeFileSync(stampFile, '{ not json');
    expect(freshCompiled(entry, stampFile)).toBeUndefined();
    rmSync(join(root, 'dist'), { recursive: true });
    expect(freshCompiled(entry, stampFile)).toBeUndefined();
  });
});
