import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labAnalysisSchema, labErrorSchema } from '@sandgate/shared';
import { startLab, type LabOptions, type RunningLab } from '#lab/lab-server.ts';
import type { Logger } from '#lab/log.ts';
import { judge, labRequest, sha256Of, uploadObject, waitForAnalysis } from '#test-helpers/lab-request.ts';

// A verdict is only as good as the rules it was judged with. When the administrator adds a blocklist entry or a YARA
// rule, every stored verdict judged without it is judged again before the lab answers with it.

let dir: string;
const labs: RunningLab[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-rejudge-'));
});
afterEach(async () => {
  while (labs.length) await labs.pop()!.close();
  rmSync(dir, { recursive: true, force: true });
});

async function lab(opts: Partial<LabOptions> = {}): Promise<RunningLab> {
  const l = await startLab({ port: 0, dataDir: dir, ...opts });
  labs.push(l);
  return l;
}

const lookup = (l: RunningLab, body: Buffer) => labRequest(l, 'GET', `/api/v1/files/${sha256Of(body)}`);
const sample = (what: string) => Buffer.from(`${what} ${Math.random()}`);

describe('sandgate-lab judges again when its inputs change', () => {
  it('records what each verdict was judged with', async () => {
    const l = await lab();
    const done = await judge(l, sample('fingerprinted'));
    expect(done.inputs).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a clean verdict, then the hash on the blocklist: the look-up no longer answers clean, and the next upload is judged malicious', async () => {
    const l = await lab();
    const obj = sample('dropper, unknown at first');
    const first = await judge(l, obj);
    expect(first.verdict?.level).toBe('clean');

    writeFileSync(join(dir, 'blocklist.txt'), `${sha256Of(obj)} Corp.Dropper.Late\n`);
    const looked = await lookup(l, obj);
    // Objects are not kept: the lab cannot judge again by itself, so it asks for the object.
    expect(looked.status).toBe(404);
    expect(labErrorSchema.parse(looked.body).error.code).toBe('NOT_FOUND');

    const again = await uploadObject(l, obj, { expectContinue: true });
    expect(again.continued).toBe(true);
    const second = await waitForAnalysis(l, labAnalysisSchema.parse(again.body).id);
    expect(second).toMatchObject({ id: first.id, verdict: { level: 'malicious', threat: 'Corp.Dropper.Late' } });
    expect(second.inputs).not.toBe(first.inputs);
    expect((await lookup(l, obj)).body).toEqual(second);
  });

  it('a clean verdict, then a YARA rule that matches it: judged malicious on the next upload', async () => {
    const l = await lab();
    const obj = Buffer.from('payload with CORP-LATE-MARKER inside');
    expect((await judge(l, obj)).verdict?.level).toBe('clean');
    writeFileSync(
      join(dir, 'rules', 'late.yar'),
      'rule Late_Marker { meta: threat = "Corp.Late.Marker" strings: $a = "CORP-LATE-MARKER" condition: $a }',
    );
    expect((await lookup(l, obj)).status).toBe(404);
    expect((await judge(l, obj)).verdict).toMatchObject({ level: 'malicious', threat: 'Corp.Late.Marker' });
  });

  it('with kept objects, the look-up itself queues the object again and the verdict follows under the same id', async () => {
    const l = await lab({ keepObjects: true });
    const obj = sample('kept sample');
    const first = await judge(l, obj);
    writeFileSync(join(dir, 'blocklist.txt'), `${sha256Of(obj)} Corp.Kept.Banned\n`);

    const looked = labAnalysisSchema.parse((await lookup(l, obj)).body);
    expect(looked).toMatchObject({ id: first.id, state: expect.stringMatching(/^(queued|analysing)$/) });
    expect(looked.verdict).toBeUndefined();
    const done = await waitForAnalysis(l, first.id);
    expect(done.verdict).toMatchObject({ level: 'malicious', threat: 'Corp.Kept.Banned' });
    expect(existsSync(join(dir, 'objects', sha256Of(obj)))).toBe(true);
  });

  it('with kept objects, many look-ups at once queue one new analysis, not one each', async () => {
    const requeued: string[] = [];
    const log: Logger = {
      debug() {},
      info: (msg) => void (msg.startsWith('judging again') && requeued.push(msg)),
      warn() {},
      error() {},
      child: () => log,
    };
    const l = await lab({ keepObjects: true, analysisDelayMs: 200, log });
    const obj = sample('looked up at once');
    const first = await judge(l, obj);
    writeFileSync(join(dir, 'blocklist.txt'), `${sha256Of(obj)} Corp.Many\n`);
    const answers = await Promise.all(Array.from({ length: 8 }, () => lookup(l, obj)));
    expect(new Set(answers.map((a) => labAnalysisSchema.parse(a.body).id))).toEqual(new Set([first.id]));
    expect(requeued).toHaveLength(1);
    expect((await waitForAnalysis(l, first.id)).verdict?.threat).toBe('Corp.Many');
  });

  it('an edit that changes no entry (a comment, a touch) keeps every verdict as it is', async () => {
    const l = await lab();
    const listed = sample('listed from the start');
    writeFileSync(join(dir, 'blocklist.txt'), `${sha256Of(listed)} Corp.Listed\n`);
    const obj = sample('innocent');
    const first = await judge(l, obj);
    appendFileSync(join(dir, 'blocklist.txt'), '# reviewed, nothing to add\n');
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'blocklist.txt'), later, later);
    const looked = await lookup(l, obj);
    expect(looked.status).toBe(200);
    expect(looked.body).toEqual(first);
  });

  it('a restart with a new blocklist judges again what the old lab judged', async () => {
    const before = await lab();
    const obj = sample('judged before the restart');
    expect((await judge(before, obj)).verdict?.level).toBe('clean');
    await labs.pop()!.close();

    writeFileSync(join(dir, 'blocklist.txt'), `${sha256Of(obj)} Corp.After.Restart\n`);
    const after = await lab();
    expect((await lookup(after, obj)).status).toBe(404);
    expect((await judge(after, obj)).verdict?.threat).toBe('Corp.After.Restart');
    expect(readdirSync(join(dir, 'incoming'))).toEqual([]);
  });
});
