import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollFor } from '#test-helpers/stack.ts';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import {
  ADMIN_PASSWORD,
  EICAR,
  enrollWorkstation,
  loginAs,
  runConsoleCli,
  startConsoleProcess,
  type ConsoleProcess,
  type Workstation,
} from './console-process.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
// The standard allows trailing whitespace: other objects (other SHA-256 values) that every lab still calls EICAR.
const VARIANT = EICAR + '\r\n';
const VARIANT_2 = EICAR + '  ';

interface Share {
  agentId: string;
  state: string;
  matches: Array<{ path: string; action: string }>;
}

// The legitimate path of group actions (issue 14): a threat caught on one workstation is quarantined on the others,
// under whatever name it has there, once the console has a second witness: its own look-up on a real sandgate-lab,
// a second workstation reporting the same object, or an operator's approval.
// Four workstations and a lab on a shared two-core machine: each scenario is given more than the default minute.
describe('group tasks act once the console has a second witness', { timeout: 120_000 }, () => {
  let dataDir: string;
  let lab: RunningLab;
  let console_: ConsoleProcess;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
  // viaLab submits to the lab the console looks hashes up on; target holds renamed copies; own1 and own2 submit to
  // labs of their own, which the console does not ask.
  let viaLab: Workstation;
  let target: Workstation;
  let own1: Workstation;
  let own2: Workstation;
  const stations: Workstation[] = [];

  const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);

  /** Enrolled in `office`; `~` is its own folder, so the group's `~/Downloads` is its Downloads. */
  const workstation = async (sandbox?: {
    servers: Array<{ url: string; token?: string }>;
    serverCertificate: string;
  }): Promise<Workstation> => {
    const w = await enrollWorkstation({ cli, consoleProcess: console_, group: 'office', start: false, ...(sandbox ? { sandbox } : {}) });
    stations.push(w);
    w.env.HOME = w.root;
    await w.startAgent();
    return w;
  };

  const plant = (w: Workstation, name: string, content: string) => {
    const p = join(w.downloads, name);
    writeFileSync(p, content);
    return p;
  };

  const catchOn = async (w: Workstation, name: string, content: string): Promise<string> => {
    const r = await w.sandgate(['submit', plant(w, name, content), '--wait', '--json']);
    expect(r.code, r.stderr).toBe(1);
    return pollFor(`the group task for ${name}`, async () => {
      const { body } = await admin('GET', 'tasks');
      return (body.tasks as Array<{ id: string; sha256: string }>).find((t) => t.sha256 === sha256(content))?.id;
    });
  };

  /** The workstation's share once in one of `states`; a time-out says where it was instead. */
  const shareOn = async (taskId: string, w: Workstation, states: string[]): Promise<Share> => {
    let last: unknown;
    try {
      return await pollFor(
        `${w.agentId}: ${states.join('/')}`,
        async () => {
          const { body } = await admin('GET', `tasks/${taskId}`);
          const s = (body.task.shares as Share[]).find((x) => x.agentId === w.agentId);
          last = { share: s, witness: body.task.witness };
          return s && states.includes(s.state) ? s : undefined;
        },
        60_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}; agent log: ${w.agentLog().slice(-2000)}`);
    }
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-witness-'));
    lab = await startLab({ port: 0, host: '127.0.0.1', dataDir: join(dataDir, 'lab') });
    // sandgate-lab answers only clients with its token: the console's look-up carries it like an agent's policy.
    const sandbox = { servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath, retryEveryMs: 1000 };
    writeFileSync(join(dataDir, 'console.json'), JSON.stringify({ witness: { sandbox } }), { mode: 0o600 });
    console_ = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0'], env);
    expect(console_.info).toMatchObject({ witnessSandbox: [lab.url] });
    const ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
    expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
    admin = await loginAs(console_.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
    [viaLab, target, own1, own2] = await Promise.all([
      workstation({ servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath }),
      workstation(),
      workstation(),
      workstation(),
    ]);
    const groupId = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'office').id;
    const set = await admin('PUT', `groups/${groupId}/actions`, {
      groupActions: { onThreat: { scan: true, quarantineOnMatch: true, scope: ['~/Downloads'] }, taskExpiresHours: 1 },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
  }, 120_000);

  afterAll(async () => {
    for (const w of stations) await w.close();
    await console_?.stop();
    await lab?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("EICAR caught on one workstation: the console's own look-up on sandgate-lab confirms it and a renamed copy elsewhere is quarantined", async () => {
    const renamed = plant(target, 'invoice-2026.pdf.exe', EICAR);
    const taskId = await catchOn(viaLab, 'eicar.com', EICAR);
    const share = await shareOn(taskId, target, ['matched']);
    expect(share.matches).toEqual([expect.objectContaining({ path: renamed, action: 'quarantined' })]);
    expect(existsSync(renamed)).toBe(false);
    const { body } = await admin('GET', `tasks/${taskId}`);
    expect(body.task.witness).toMatchObject({ state: 'witnessed', witness: { kind: 'sandbox', server: lab.url } });
    expect(body.task.witness.summary).toContain(`the console's sandbox server ${lab.url} judged it malicious`);
  });

  it("an object the console's sandbox does not know waits for a witness, and an operator's approval sends it", async () => {
    const renamed = plant(target, 'holiday-photos.scr', VARIANT);
    const taskId = await catchOn(own1, 'variant.com', VARIANT);
    const waiting = await shareOn(taskId, target, ['awaiting-witness']);
    expect(waiting.matches).toEqual([expect.objectContaining({ path: renamed, action: 'awaiting-witness' })]);
    const status = await pollFor('the look-up answered', async () => {
      const { body } = await admin('GET', `tasks/${taskId}`);
      return body.task.witness.sandbox.lastLookup ? body.task.witness : undefined;
    });
    expect(status).toMatchObject({
      state: 'awaiting',
      sandbox: { configured: true, lastLookup: { outcome: 'not-found', server: lab.url } },
    });
    expect(status.summary).toContain(`the console's sandbox server ${lab.url} does not know this object`);
    expect(readFileSync(renamed, 'utf8')).toBe(VARIANT);

    const ok = await admin('POST', `tasks/${taskId}/approve`, {});
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const done = await shareOn(taskId, target, ['matched']);
    expect(done.matches).toEqual([expect.objectContaining({ path: renamed, action: 'quarantined' })]);
    expect(existsSync(renamed)).toBe(false);
  });

  it('a second workstation reporting the same object malicious is a witness too', async () => {
    const renamed = plant(target, 'setup (1).exe', VARIANT_2);
    const taskId = await catchOn(own1, 'v2.com', VARIANT_2);
    await shareOn(taskId, target, ['awaiting-witness']);
    expect(existsSync(renamed)).toBe(true);
    await own2.sandgate(['submit', plant(own2, 'v2-again.com', VARIANT_2), '--wait', '--json']);
    const done = await shareOn(taskId, target, ['matched']);
    expect(done.matches).toEqual([expect.objectContaining({ path: renamed, action: 'quarantined' })]);
    const { body } = await admin('GET', `tasks/${taskId}`);
    expect(body.task.witness).toMatchObject({ state: 'witnessed', witness: { kind: 'agents', count: 2, required: 2 } });
  });
});
