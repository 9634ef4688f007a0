import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quarantineListItemSchema, submitOutputLineSchema, type SubmitOutputLine } from '@sandgate/shared';
import { startStack, type Stack } from '#test-helpers/stack.ts';
import { cleanPdfBytes, eicarBytes } from '../../../scripts/lib/download-page.ts';

// `sandgate submit FILE --wait --json` against a real sandgate-lab on loopback with its certificate pinned, through a
// real `sandgate serve`: what a script or an administrator relies on (PRODUCT.md exit statuses and output lines).

let stack: Stack;
let work: string;

beforeAll(async () => {
  stack = await startStack();
  work = mkdtempSync(join(tmpdir(), 'sandgate-submit-'));
});

afterAll(async () => {
  await stack?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function parseLines(stdout: string): SubmitOutputLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => submitOutputLineSchema.parse(JSON.parse(l)));
}

describe('sandgate submit --wait --json', () => {
  it('reports the EICAR test file as malicious, exits 1 and quarantines it', async () => {
    const file = join(work, 'eicar.com');
    writeFileSync(file, eicarBytes());

    const r = await stack.sandgate(['submit', file, '--wait', '--json']);

    expect(r.stdout, r.stderr).toContain('"level":"malicious"');
    expect(r.code, r.stderr).toBe(1);
    const lines = parseLines(r.stdout);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line!.object).toMatchObject({ path: file, size: 68 });
    expect(line!.verdict?.level).toBe('malicious');
    expect(line!.verdict?.threat).toMatch(/EICAR/i);
    expect(line!.verdict?.server).toBe(stack.lab.url);
    expect(line!.actions).toContainEqual(expect.objectContaining({ type: 'quarantine', status: 'done' }));
    expect(existsSync(file)).toBe(false);

    const list = await stack.sandgate(['quarantine', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const items = quarantineListItemSchema.array().parse(JSON.parse(list.stdout));
    expect(items.filter((i) => i.originalPath === file)).toHaveLength(1);
  });

  it('reports a clean PDF as clean, exits 0 and leaves the file where it was', async () => {
    const file = join(work, 'report.pdf');
    const bytes = cleanPdfBytes('a clean report for submit --wait');
    writeFileSync(file, bytes);

    const r = await stack.sandgate(['submit', file, '--wait', '--json']);

    expect(r.stdout, r.stderr).toContain('"level":"clean"');
    expect(r.code, r.stderr).toBe(0);
    const [line] = parseLines(r.stdout);
    expect(line!.verdict?.level).toBe('clean');
    expect(line!.actions.filter((a) => a.type === 'quarantine' && a.status === 'done')).toHaveLength(0);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('reports a file that does not exist as a FILE_NOT_FOUND line and exits 2', async () => {
    const missing = join(work, 'no-such-file.exe');
    const r = await stack.sandgate(['submit', missing, '--wait', '--json']);

    expect(r.code).toBe(2);
    const [line] = parseLines(r.stdout);
    expect(line!.object.path).toBe(missing);
    expect(line!.error?.code).toBe('FILE_NOT_FOUND');
    expect(line!.verdict).toBeUndefined();
  });
});
