import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '@sandgate/shared';
import { realClock } from '#native-host/clock.ts';
import { createServerAgent } from '#native-host/sandbox/https-call.ts';
import { LabClient } from '#native-host/sandbox/lab-client.ts';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { judge, sha256Of } from '#test-helpers/lab-request.ts';
import { fileBody } from '#native-host/queue/object-body.ts';

// Attack: a malware author (or anyone with a workstation) submits a new sample to the lab before anyone knows it is
// bad. The lab judges it clean. The next day the administrator adds its hash to the blocklist, or a YARA rule that
// catches it. Before the fix the lab kept answering "clean" from its stored verdict for ever: the first submitter
// had locked the verdict in, and every workstation that later downloaded the sample was told it was harmless.

let root: string;
let lab: RunningLab;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sandgate-sec-first-submitter-'));
  lab = await startLab({ port: 0, host: '127.0.0.1', dataDir: join(root, 'lab') });
});
afterAll(async () => {
  await lab?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A victim workstation's view: the agent's own client for `sandgate` servers, with the lab's token in its policy. */
async function victimVerdict(sample: Buffer, name: string) {
  const path = join(root, name);
  writeFileSync(path, sample);
  const server = policySchema.parse({ sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath } }).sandbox
    .servers[0]!;
  const client = new LabClient(server, {
    agent: createServerAgent({ serverCa: readFileSync(lab.certPath, 'utf8') }),
    connectTimeoutMs: 5000,
    analysisTimeoutMs: 30_000,
    clock: realClock,
  });
  try {
    return await client.analyse(
      { sha256: sha256Of(sample), body: fileBody(path, sample.length), filename: name },
      new AbortController().signal,
    );
  } finally {
    client.close();
  }
}

describe('attack: the first submitter locks a verdict in as clean', () => {
  it('a sample judged clean, then blocklisted by the administrator, is malicious for the next workstation that asks', async () => {
    const sample = Buffer.from(`new dropper, not yet known ${Math.random()}`);
    expect((await judge(lab, sample)).verdict?.level).toBe('clean');

    writeFileSync(join(root, 'lab', 'blocklist.txt'), `${sha256Of(sample)} Corp.Dropper.Blocked\n`);
    const verdict = await victimVerdict(sample, 'invoice.exe');
    expect(verdict).toMatchObject({ level: 'malicious', threat: 'Corp.Dropper.Blocked', server: lab.url });
  });

  it('a sample judged clean, then caught by a new YARA rule, is malicious for the next workstation that asks', async () => {
    const sample = Buffer.from(`stager with the EVIL-STAGER-7 marker ${Math.random()}`);
    expect((await judge(lab, sample)).verdict?.level).toBe('clean');

    writeFileSync(
      join(root, 'lab', 'rules', 'stager.yar'),
      'rule Evil_Stager { meta: threat = "Corp.Stager.Seven" strings: $a = "EVIL-STAGER-7" condition: $a }',
    );
    const verdict = await victimVerdict(sample, 'setup.exe');
    expect(verdict).toMatchObject({ level: 'malicious', threat: 'Corp.Stager.Seven' });
  });
});
