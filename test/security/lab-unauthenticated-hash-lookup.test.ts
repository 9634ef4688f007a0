import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labErrorSchema, submitOutputLineSchema } from '@sandgate/shared';
import { eicarBytes } from '../../scripts/lib/download-page.ts';
import { labRequest, sha256Of, uploadObject, type LabTarget } from '#test-helpers/lab-request.ts';
import { startStack, type Stack } from '#test-helpers/stack.ts';

// Attack: anyone who can reach the lab's port asks it about a hash. Before the fix the lab answered every client:
// whether a workstation had submitted a given file (a leaked document, a tool), when, under what name, and what the
// lab made of it; and it took uploads and look-ups from anyone. Now every request needs the lab's token (or a client
// certificate from the CA it was given), and a refused request learns nothing: not whether the hash is known, not
// even which paths exist.
//
// The legitimate path, the real agent with the token in its policy, still judges EICAR through the lab.

let stack: Stack;
let work: string;
let lab: LabTarget;
let known: string;

beforeAll(async () => {
  stack = await startStack();
  lab = stack.lab;
  work = mkdtempSync(join(tmpdir(), 'sandgate-sec-lookup-'));
});
afterAll(async () => {
  await stack?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('attack: an unauthenticated client looks up a hash', () => {
  it('the real agent, with the lab token in its policy, judges EICAR malicious through the lab (and never logs the token)', async () => {
    const file = join(work, 'eicar.com');
    writeFileSync(file, eicarBytes());
    const r = await stack.sandgate(['submit', file, '--wait', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const line = submitOutputLineSchema.parse(JSON.parse(r.stdout.trim()));
    expect(line.verdict).toMatchObject({ level: 'malicious', threat: expect.stringMatching(/EICAR/), server: lab.url });
    known = line.object.sha256;

    const shown = await stack.sandgate(['policy', 'show', '--json']);
    expect(shown.stdout).not.toContain(lab.token!);
    const logFiles = existsSync(stack.paths.logs) ? readdirSync(stack.paths.logs) : [];
    const logs = logFiles.map((f) => readFileSync(join(stack.paths.logs, f), 'utf8')).join('\n');
    expect(logs + stack.agentLog() + JSON.stringify(stack.events())).not.toContain(lab.token!);
  });

  it('without the token, a look-up of that hash is refused, and reads exactly like one of a hash nobody ever sent', async () => {
    const knownAnswer = await labRequest(lab, 'GET', `/api/v1/files/${known}`, { token: null });
    const unknownAnswer = await labRequest(lab, 'GET', `/api/v1/files/${'e'.repeat(64)}`, { token: null });
    expect(knownAnswer.status).toBe(401);
    expect(labErrorSchema.parse(knownAnswer.body).error.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(knownAnswer.body)).not.toMatch(/EICAR|malicious|verdict/i);
    expect(unknownAnswer.status).toBe(knownAnswer.status);
    expect(unknownAnswer.body).toEqual(knownAnswer.body);
  });

  it('a wrong token, a token in the wrong scheme or a token of the wrong length fares no better', async () => {
    for (const authorization of [
      'Bearer guessed-token',
      `Basic ${lab.token}`,
      `Bearer ${lab.token}x`,
      `Bearer ${lab.token!.slice(0, -1)}`,
    ]) {
      const r = await labRequest(lab, 'GET', `/api/v1/files/${known}`, { token: null, headers: { authorization } });
      expect(r.status, authorization.slice(0, 12)).toBe(401);
      expect(labErrorSchema.parse(r.body).error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('nor can it upload, poll a submission, read the health answer or probe which paths exist', async () => {
    const probe = Buffer.from('an upload from nowhere');
    const upload = await uploadObject(lab, probe, { token: null });
    expect(upload.status).toBe(401);
    for (const path of ['/api/v1/health', '/api/v1/submissions/00000000-0000-0000-0000-000000000000', '/api/v1/no-such-thing', '/']) {
      const r = await labRequest(lab, 'GET', path, { token: null });
      expect(r.status, path).toBe(401);
      expect(labErrorSchema.parse(r.body).error.code).toBe('UNAUTHENTICATED');
    }
    // The refused upload left nothing behind: with the token, the lab has never heard of it.
    expect((await labRequest(lab, 'GET', `/api/v1/files/${sha256Of(probe)}`)).status).toBe(404);
  });
});
