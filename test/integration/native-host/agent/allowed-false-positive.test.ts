import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quarantineListItemSchema, submitOutputLineSchema, type SubmitOutputLine } from '@sandgate/shared';
import { startStack, type Stack } from '#test-helpers/stack.ts';
import { eicarBytes } from '../../../../scripts/lib/download-page.ts';

// An administrator declared EICAR a false positive (`response.allowSha256`): a real `sandgate serve` against a real
// sandgate-lab still judges it malicious and says so, but leaves the file alone; anything else malicious is handled
// as before.

const EICAR = eicarBytes();
const EICAR_SHA256 = createHash('sha256').update(EICAR).digest('hex');
// Still the test file by the standard's definition (trailing whitespace is allowed), but other bytes: not on the list.
const EICAR_CRLF = Buffer.concat([EICAR, Buffer.from('\r\n')]);

let stack: Stack;
let downloads: string;

beforeAll(async () => {
  stack = await startStack({ response: { quarantine: true, allowSha256: [EICAR_SHA256] } });
  downloads = join(stack.root, 'Downloads');
  mkdirSync(downloads, { recursive: true });
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

const submit = async (file: string): Promise<{ code: number | null; line: SubmitOutputLine }> => {
  const r = await stack.sandgate(['submit', file, '--wait', '--json']);
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => submitOutputLineSchema.parse(JSON.parse(l)));
  expect(lines, r.stderr).toHaveLength(1);
  return { code: r.code, line: lines[0]! };
};

const quarantined = async (): Promise<Array<{ originalPath: string; sha256: string }>> => {
  const list = await stack.sandgate(['quarantine', 'list', '--json']);
  expect(list.code, list.stderr).toBe(0);
  return quarantineListItemSchema.array().parse(JSON.parse(list.stdout));
};

describe('a known false positive (response.allowSha256)', () => {
  it('is still judged malicious (exit 1) but stays where it was, with the reason in the job and a verdict-allowed event', async () => {
    const file = join(downloads, 'eicar.com');
    writeFileSync(file, EICAR);

    const { code, line } = await submit(file);

    // The verdict is the sandbox's and stays truthful: scripts that treat exit 1 as "threat" still see one.
    expect(code).toBe(1);
    expect(line.verdict).toMatchObject({ level: 'malicious', threat: expect.stringMatching(/EICAR/i) });
    expect(line.actions).toEqual([expect.objectContaining({ type: 'quarantine', status: 'skipped', code: 'ALLOWED_FALSE_POSITIVE' })]);
    expect(readFileSync(file).equals(EICAR)).toBe(true);
    expect(await quarantined()).toEqual([]);
    expect(stack.events()).toContainEqual(
      expect.objectContaining({
        type: 'verdict-allowed',
        path: file,
        sha256: EICAR_SHA256,
        level: 'malicious',
        code: 'ALLOWED_FALSE_POSITIVE',
      }),
    );
  });

  it('downloaded again, answered from the verdict cache, it is left alone just the same', async () => {
    const file = join(downloads, 'eicar (1).com');
    writeFileSync(file, EICAR);

    const { code, line } = await submit(file);

    expect(code).toBe(1);
    expect(line.verdict).toMatchObject({ level: 'malicious', cached: true });
    expect(line.actions).toEqual([expect.objectContaining({ type: 'quarantine', status: 'skipped', code: 'ALLOWED_FALSE_POSITIVE' })]);
    expect(existsSync(file)).toBe(true);
    expect(stack.events().filter((e) => e.type === 'verdict-allowed' && e.path === file)).toHaveLength(1);
    expect(await quarantined()).toEqual([]);
  });

  it('another malicious object, not on the list, is quarantined as usual', async () => {
    const file = join(downloads, 'eicar-crlf.com');
    writeFileSync(file, EICAR_CRLF);

    const { code, line } = await submit(file);

    expect(code).toBe(1);
    expect(line.verdict?.level).toBe('malicious');
    expect(line.actions).toContainEqual(expect.objectContaining({ type: 'quarantine', status: 'done' }));
    expect(existsSync(file)).toBe(false);
    expect((await quarantined()).map((i) => i.originalPath)).toEqual([file]);
    expect(stack.events().filter((e) => e.type === 'verdict-allowed' && e.path === file)).toEqual([]);
  });
});
