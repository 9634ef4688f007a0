import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, MAX_BROWSER_MESSAGE_BYTES } from '@sandgate/shared';
import {
  FAKE_AGENT_COMMAND,
  fakeAgentStarts,
  helloRequest,
  hostLog,
  killFakeAgents,
  spawnHost,
  type HostProcess,
} from '#test-helpers/spawn-host.ts';

const ORIGIN = `chrome-extension://${CHROMIUM_EXTENSION_ID}/`;
let home: string;
const hosts: HostProcess[] = [];
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sandgate-bridge-'));
});
afterEach(async () => {
  for (const h of hosts.splice(0)) {
    h.child.kill('SIGKILL');
    await h.exited;
  }
  killFakeAgents(home);
  rmSync(home, { recursive: true, force: true });
});

/** The bridge as Chromium starts it, with the fake agent as the service it may autostart. */
function host(args: string[] = [ORIGIN], serveCommand: string[] = FAKE_AGENT_COMMAND): HostProcess {
  const h = spawnHost({ home, args, serveCommand });
  hosts.push(h);
  return h;
}

const rawFrame = (body: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(body.length);
  return Buffer.concat([h, body]);
};
const errorFrame = (id: string, code: string) =>
  expect.objectContaining({ v: 1, kind: 'response', id, ok: false, error: expect.objectContaining({ code }) });

describe('native host bridge: bad input from the browser', () => {
  it('an oversized length header is answered with FRAME_TOO_LARGE and a clean exit, without buffering the claimed size', async () => {
    // Baseline: the same process doing nothing.
    const idle = host();
    idle.end();
    expect((await idle.exited).code).toBe(0);
    const baseline = Number(hostLog(home).find((l) => l.msg === 'exit')!.maxRssKiB);

    const h = host();
    h.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    // Keep feeding: a host that tried to collect 4 GiB would keep reading (and growing) instead of leaving.
    for (let i = 0; i < 16; i++) h.write(Buffer.alloc(1 << 20, 0x61));
    expect(await h.nextFrame()).toEqual(errorFrame('-', 'FRAME_TOO_LARGE'));
    const r = await h.exited;
    expect(r.code).toBe(0);
    expect(r.frames).toHaveLength(1);
    const exits = hostLog(home).filter((l) => l.msg === 'exit');
    const rss = Number(exits.at(-1)!.maxRssKiB);
    expect(rss).toBeLessThan(baseline + 48 * 1024);
    expect(fakeAgentStarts(home)).toEqual([]); // bad input never starts the service
  });

  it('a header just over the browser cap is refused the same way', async () => {
    const h = host();
    const header = Buffer.alloc(4);
    header.writeUInt32LE(MAX_BROWSER_MESSAGE_BYTES + 1);
    h.write(header);
    expect(await h.nextFrame()).toEqual(errorFrame('-', 'FRAME_TOO_LARGE'));
    expect((await h.exited).code).toBe(0);
  });

  it('invalid JSON, invalid UTF-8, schema-invalid and forbidden requests each get their code, and the host keeps going', async () => {
    const h = host();
    h.write(rawFrame(Buffer.from('{"v":1,')));
    h.write(rawFrame(Buffer.from([0x22, 0xff, 0xfe, 0x22])));
    h.send({ v: 1, kind: 'request', id: 'bad-1', type: 'hello', payload: { minV: 'x' } });
    h.send({ v: 1, kind: 'request', id: 'bad-2', type: 'no-such-type', payload: {} });
    h.send(['not', 'an', 'object']);
    h.send({ v: 1, kind: 'request', id: 'cli-1', type: 'submit-file', payload: { path: '/etc/passwd' } });
    h.send(helloRequest('ok-1'));
    const frames = [];
    for (let i = 0; i < 7; i++) frames.push(await h.nextFrame());
    expect(frames).toEqual([
      errorFrame('-', 'FRAME_MALFORMED'),
      errorFrame('-', 'FRAME_MALFORMED'),
      errorFrame('bad-1', 'MESSAGE_INVALID'),
      errorFrame('bad-2', 'MESSAGE_INVALID'),
      errorFrame('-', 'MESSAGE_INVALID'),
      errorFrame('cli-1', 'REQUEST_NOT_ALLOWED'),
      expect.objectContaining({ id: 'ok-1', ok: true, data: expect.objectContaining({ appVersion: 'fake-agent' }) }),
    ]);
    h.end();
    expect((await h.exited).code).toBe(0);
  });

  it('an extension it was not installed for gets one ORIGIN_FORBIDDEN frame and the host exits', async () => {
    const h = host(['--allow-origin', ORIGIN, `chrome-extension://${'a'.repeat(32)}/`]);
    h.send(helloRequest('h1'));
    const r = await h.exited;
    expect(r.frames).toEqual([errorFrame('-', 'ORIGIN_FORBIDDEN')]);
    expect(r.code).not.toBe(0);
    expect(fakeAgentStarts(home)).toEqual([]);
  });

  it('started without any origin argument (not by a browser), it refuses too', async () => {
    const r = await host([]).exited;
    expect(r.frames).toEqual([errorFrame('-', 'ORIGIN_FORBIDDEN')]);
  });

  it('Firefox callers are identified by add-on id', async () => {
    const h = host([
      '--allow-origin',
      FIREFOX_EXTENSION_ID,
      '/usr/lib/mozilla/native-messaging-hosts/org.sandgate.agent.json',
      FIREFOX_EXTENSION_ID,
    ]);
    h.send(helloRequest('ff-1'));
    expect(await h.nextFrame()).toMatchObject({ id: 'ff-1', ok: true });
  });

  it('stdout carries frames only: every byte written belongs to a frame', async () => {
    const h = host();
    h.write(rawFrame(Buffer.from('nope')));
    h.send(helloRequest('x'));
    await h.nextFrame();
    await h.nextFrame();
    h.end();
    const r = await h.exited;
    const expected = r.frames.reduce<number>((n, f) => n + 4 + Buffer.byteLength(JSON.stringify(f)), 0);
    expect(r.stdoutBytes).toBe(expected);
    expect(r.stderr).toBe('');
  });
});

describe('native host bridge: forwarding to the agent service', () => {
  it('a hello round trip autostarts the service and comes back with the browser’s own id', async () => {
    const h = host();
    h.send(helloRequest('browser-id-with-some-length-0123456789'));
    expect(await h.nextFrame()).toEqual({
      v: 1,
      kind: 'response',
      id: 'browser-id-with-some-length-0123456789',
      ok: true,
      data: { v: 1, appVersion: 'fake-agent', capabilities: ['status'] },
    });
    expect(fakeAgentStarts(home)).toHaveLength(1);
  });

  it('the shipped hello.bin fixture works as documented: sandgate-native-host <origin> < hello.bin', async () => {
    const h = host();
    h.write(readFileSync(join(import.meta.dirname, '../../../fixtures/messages/hello.bin')));
    h.end();
    const r = await h.exited;
    expect(r.code).toBe(0);
    expect(r.frames).toEqual([expect.objectContaining({ id: 'hello-1', ok: true })]);
  });

  it('an agent error comes through with its code', async () => {
    const h = host();
    h.send({ v: 1, kind: 'request', id: 's1', type: 'get-status', payload: {} });
    expect(await h.nextFrame()).toEqual(errorFrame('s1', 'QUEUE_IO'));
  });

  it('an event pushed by the agent reaches the browser', async () => {
    const h = host();
    h.send(helloRequest('p1', 'test/push'));
    expect(await h.nextFrame()).toMatchObject({ id: 'p1', ok: true });
    expect(await h.nextFrame()).toEqual({
      v: 1,
      kind: 'event',
      type: 'agent-status',
      payload: { serversReachable: true, queueFull: false },
    });
  });

  it('a response over 1 MiB becomes RESPONSE_TOO_LARGE for that id, and the port stays usable', async () => {
    const h = host();
    h.send(helloRequest('big', `test/huge:${1536 * 1024}`));
    expect(await h.nextFrame()).toEqual(errorFrame('big', 'RESPONSE_TOO_LARGE'));
    h.send(helloRequest('small', 'test/huge:1000'));
    expect(await h.nextFrame()).toMatchObject({ id: 'small', ok: true, data: 'x'.repeat(1000) });
    h.end();
    const r = await h.exited;
    expect(r.stdoutBytes).toBeLessThan(1024 * 1024);
  });

  it('when the agent goes away, a pending request gets AGENT_UNAVAILABLE and the host exits so the extension reconnects', async () => {
    const h = host();
    h.send(helloRequest('pending', 'test/hang'));
    h.send(helloRequest('e1', 'test/exit'));
    expect(await h.nextFrame()).toMatchObject({ id: 'e1', ok: true });
    expect(await h.nextFrame()).toEqual(errorFrame('pending', 'AGENT_UNAVAILABLE'));
    const r = await h.exited;
    expect(r.code).toBe(1);
    expect(r.frames).toHaveLength(2);
  });

  it('when the service cannot be started, requests get AGENT_UNAVAILABLE and the host exits', async () => {
    const h = host([ORIGIN], [process.execPath, '-e', 'process.exit(2)']);
    h.send(helloRequest('u1'));
    h.send(helloRequest('u2'));
    const r = await h.exited;
    expect(r.frames).toEqual([errorFrame('u1', 'AGENT_UNAVAILABLE'), errorFrame('u2', 'AGENT_UNAVAILABLE')]);
    expect(r.code).toBe(1);
  });

  it('two bridges autostarting at once end with one service, and both are answered', async () => {
    const a = host();
    const b = host();
    a.send(helloRequest('a'));
    b.send(helloRequest('b'));
    expect(await a.nextFrame()).toMatchObject({ id: 'a', ok: true });
    expect(await b.nextFrame()).toMatchObject({ id: 'b', ok: true });
    expect(fakeAgentStarts(home).filter((l) => l.startsWith('listening'))).toHaveLength(1);
  });

  it('the service outlives the bridge (it is not the bridge’s child in the browser’s process group)', async () => {
    const h = host();
    h.send(helloRequest('x'));
    await h.nextFrame();
    h.end();
    await h.exited;
    const pid = Number(fakeAgentStarts(home)[0]!.split(' ')[1]);
    expect(() => process.kill(pid, 0)).not.toThrow();
    // A second browser connection reuses it.
    const h2 = host();
    h2.send(helloRequest('y'));
    expect(await h2.nextFrame()).toMatchObject({ id: 'y', ok: true });
    expect(fakeAgentStarts(home)).toHaveLength(1);
  });

  it('logs go to $SANDGATE_HOME/logs/native-host.log', async () => {
    const h = host();
    h.send(helloRequest('x'));
    await h.nextFrame();
    h.end();
    await h.exited;
    expect(hostLog(home).map((l) => l.msg)).toEqual(expect.arrayContaining(['bridge started', 'agent service started', 'exit']));
  });
});
