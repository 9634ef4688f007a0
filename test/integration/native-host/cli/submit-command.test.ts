import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { submitOutputLineSchema } from '@sandgate/shared';
import { startStack, type Stack } from '#test-helpers/stack.ts';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('sandgate submit against the real agent and sandgate-lab', () => {
  it('--wait --json reports EICAR as malicious, quarantines it and exits 1', async () => {
    const file = join(stack.root, 'eicar.com');
    writeFileSync(file, EICAR);
    const r = await stack.sandgate(['submit', file, '--wait', '--json']);
    expect(r.code, r.stderr + stack.agentLog()).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => submitOutputLineSchema.parse(JSON.parse(l)));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.object).toMatchObject({ path: file, size: EICAR.length });
    expect(lines[0]!.verdict).toMatchObject({ level: 'malicious', threat: expect.stringContaining('EICAR') });
    const q = lines[0]!.actions.find((a) => a.type === 'quarantine');
    expect(q).toMatchObject({ status: 'done', id: expect.any(String) });
    expect(existsSync(file)).toBe(false);

    const list = await stack.sandgate(['quarantine', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: q!.id, originalPath: file })]);
  });

  it('--wait on a clean file prints a readable line and exits 0, leaving the file alone', async () => {
    const file = join(stack.root, 'notes.txt');
    writeFileSync(file, 'just some notes, nothing to see\n');
    const r = await stack.sandgate(['submit', file, '--wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: clean`));
    expect(existsSync(file)).toBe(true);
  });

  it('without --wait prints the job id and exits 0', async () => {
    const file = join(stack.root, 'other.txt');
    writeFileSync(file, 'another harmless file\n');
    const r = await stack.sandgate(['submit', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ path: file, jobId: expect.any(String) });
  });

  it('a missing file is reported with its code and exits 2', async () => {
    const r = await stack.sandgate(['submit', join(stack.root, 'absent.bin'), '--wait', '--json']);
    expect(r.code).toBe(2);
    const line = submitOutputLineSchema.parse(JSON.parse(r.stdout.trim()));
    expect(line.error?.code).toBe('FILE_NOT_FOUND');
  });

  it('status shows the running service and its server', async () => {
    const r = await stack.sandgate(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('service   running');
    expect(r.stdout).toContain(stack.lab.url);
  });
});
