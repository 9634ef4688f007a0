import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SandgateError } from '@sandgate/shared';
import { checkClient, proveAgent, type ClientProof } from '#native-host/ipc/pipe-proof.ts';
import { loadOrCreatePipeKey, pipeKeyPath, readPipeKey } from '#native-host/ipc/pipe-key.ts';
import { otherUsersServer } from '#native-host/ipc/pipe-peer.ts';

/**
 * The pipe proof and the pipe key, run over a Unix socket: the same bytes as on the Windows pipe (where the agent and
 * the CLI use them, test/windows/native-host/ipc/pipe-trust.test.ts); Linux itself does not use them (its socket sits in
 * a 0700 folder).
 */
let dir: string;
let server: Server | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-proof-'));
});
afterEach(async () => {
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** An agent side that admits with `key` and then echoes what follows the proof; resolves each admission's outcome. */
async function agentSide(key: Buffer, pipe = 'P'): Promise<{ path: string; outcomes: ClientProof[] }> {
  const path = join(dir, 's.sock');
  const outcomes: ClientProof[] = [];
  server = createServer((s) => {
    void checkClient(s, key, pipe, 2000).then((r) => {
      outcomes.push(r);
      if (!r.ok) return s.destroy();
      s.on('data', (d) => s.write(d));
      s.resume();
    });
  });
  await new Promise<void>((r) => server!.listen(path, () => r()));
  return { path, outcomes };
}

function dial(path: string): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(path, () => resolve(s));
  });
}

describe('pipe proof', () => {
  it('admits a client holding the key, and the bytes sent right after the proof reach the agent intact', async () => {
    const key = randomBytes(32);
    const a = await agentSide(key);
    const s = await dial(a.path);
    await proveAgent(s, key, 'P');
    const echoed = new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString())));
    s.resume();
    s.write('first request');
    expect(await echoed).toBe('first request');
    expect(a.outcomes).toEqual([{ ok: true }]);
    s.destroy();
  });

  it('an agent without the key is refused with AGENT_UNVERIFIED, and the client is refused by the agent', async () => {
    const a = await agentSide(randomBytes(32));
    const s = await dial(a.path);
    const err = await proveAgent(s, randomBytes(32), 'P').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandgateError);
    expect((err as SandgateError).code).toBe('AGENT_UNVERIFIED');
    expect((err as SandgateError).message).toMatch(/its proof does not match the pipe key/);
    expect(s.destroyed).toBe(true);
  });

  it('a proof made for another pipe name does not count', async () => {
    const key = randomBytes(32);
    const a = await agentSide(key, 'P1');
    const s = await dial(a.path);
    const err = await proveAgent(s, key, 'P2').catch((e: unknown) => e);
    expect((err as SandgateError).code).toBe('AGENT_UNVERIFIED');
  });

  it('a client that sends a request instead of the proof is refused unanswered; a probe that only connects is no refusal', async () => {
    const a = await agentSide(randomBytes(32));
    const s = await dial(a.path);
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    const closed = new Promise((r) => s.on('close', r));
    s.write(Buffer.from('\x20\x00\x00\x00{"v":1,"kind":"request","id":"x"}'));
    await closed;
    expect(Buffer.concat(got).length).toBe(0);
    const probe = await dial(a.path);
    probe.destroy();
    for (const deadline = Date.now() + 10_000; a.outcomes.length < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
    expect(a.outcomes.map((o) => !o.ok && o.sentSomething)).toEqual([true, false]);
  });
});

describe('pipe key', () => {
  it('is made once (32 bytes, owner-only) and read back the same', async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, 'run'), { recursive: true });
    const k = await loadOrCreatePipeKey(home);
    expect(k.length).toBe(32);
    expect(await loadOrCreatePipeKey(home)).toEqual(k);
    expect(await readPipeKey(home, 'P')).toEqual(k);
    expect(readFileSync(pipeKeyPath(home))).toEqual(k);
  });

  it('a link in its place is never followed: the client refuses to use it, the agent refuses to replace it', async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, 'run'), { recursive: true });
    const elsewhere = join(dir, 'attacker-key');
    writeFileSync(elsewhere, randomBytes(32));
    symlinkSync(elsewhere, pipeKeyPath(home));
    await expect(readPipeKey(home, 'P')).rejects.toMatchObject({ code: 'AGENT_UNVERIFIED', message: expect.stringMatching(/is a link/) });
    await expect(loadOrCreatePipeKey(home)).rejects.toMatchObject({ code: 'IPC_PATH_UNSAFE' });
  });

  it('a key cut short (an agent that died writing it) is replaced by the agent', async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, 'run'), { recursive: true });
    writeFileSync(pipeKeyPath(home), Buffer.alloc(5));
    await expect(readPipeKey(home, 'P')).rejects.toMatchObject({ code: 'AGENT_UNVERIFIED' });
    expect((await loadOrCreatePipeKey(home)).length).toBe(32);
  });
});

describe("the pipe server's user (the client's OS check, decided here; Windows supplies the SIDs)", () => {
  const me = 'S-1-5-21-1-2-3-1001';
  const os = (server: string | undefined) => ({ currentUser: () => me, processUser: () => server });
  it('a server running as this user passes', () => {
    expect(otherUsersServer(os(me), 42, 'P')).toBeUndefined();
  });
  it('a server running as another user is AGENT_UNVERIFIED, naming its pid and user', () => {
    const e = otherUsersServer(os('S-1-5-21-1-2-3-1002'), 42, 'P');
    expect(e?.code).toBe('AGENT_UNVERIFIED');
    expect(e?.message).toBe('the process serving P (pid 42) runs as S-1-5-21-1-2-3-1002, not as this user');
  });
  it('a server whose user Windows will not name is refused too', () => {
    expect(otherUsersServer(os(undefined), 42, 'P')?.code).toBe('AGENT_UNVERIFIED');
  });
});
