import { lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileDurable } from '@sandgate/shared/durable-write';

const freshDir = () => mkdtempSync(join(tmpdir(), 'sandgate-durable-'));

describe('writing a file the durable way', () => {
  it('replaces a symlink planted at the destination instead of writing through it to its target', async () => {
    const dir = freshDir();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, "the user's own file\n");
    symlinkSync(victim, join(dir, 'state.json'));

    await writeFileAtomic(join(dir, 'state.json'), '{"a":1}\n', 0o600);

    expect(readFileSync(victim, 'utf8')).toBe("the user's own file\n");
    expect(lstatSync(join(dir, 'state.json')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).toBe('{"a":1}\n');
  });

  it('gives the file exactly the mode asked for, whatever the umask', async () => {
    const dir = freshDir();
    const before = process.umask(0o077);
    try {
      await writeFileAtomic(join(dir, 'launcher.sh'), '#!/bin/sh\n', 0o755);
    } finally {
      process.umask(before);
    }
    expect(statSync(join(dir, 'launcher.sh')).mode & 0o777).toBe(0o755);
  });

  it('leaves no half-written file behind when the write cannot finish', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'record.json'), 'old\n');
    // A rename onto a non-empty folder fails after the temp file was written: the old file stays whole.
    await expect(writeFileDurable(dir, '.', 'new\n')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['record.json']);
    expect(readFileSync(join(dir, 'record.json'), 'utf8')).toBe('old\n');
  });
});
