import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { pollFor } from '#test-helpers/stack.ts';
import { startConsoleWithRoles, type ConsoleWithRoles } from '../../integration/console/console-fixture.ts';

/** Whether a TCP connection to `host:port` is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const portOf = (url: string) => Number(new URL(url).port);

// Issue 14: "the admin UI listens on all interfaces by default". The real console process, with its agents' port on
// every interface as in production (`--host 0.0.0.0`); 127.0.0.2 plays "another address of this machine": a socket
// bound to 127.0.0.1 does not accept connections made to it, one bound to every interface does.
describe('where the web console listens', () => {
  let c: ConsoleWithRoles | undefined;
  afterEach(async () => {
    await c?.stop();
    c = undefined;
  });

  it('by default the web console answers on loopback only, while the agents port stays on every interface', async () => {
    c = await startConsoleWithRoles({ args: ['--host', '0.0.0.0'], users: false });
    expect(await accepts('127.0.0.2', portOf(c.agentUrl))).toBe(true);
    expect(await accepts('127.0.0.1', portOf(c.adminUrl))).toBe(true);
    expect(await accepts('127.0.0.2', portOf(c.adminUrl))).toBe(false);
    expect(c.process.info).toMatchObject({ adminHost: '127.0.0.1' });
    expect(c.process.stderr()).not.toMatch(/warning/);
  }, 180_000);

  it('--admin-host puts it elsewhere, with a warning that says so', async () => {
    c = await startConsoleWithRoles({ args: ['--host', '0.0.0.0', '--admin-host', '0.0.0.0'], users: false });
    expect(await accepts('127.0.0.2', portOf(c.adminUrl))).toBe(true);
    const warned = await pollFor(
      'the warning on stderr',
      () => /warning: the web console listens on 0\.0\.0\.0, not only on this machine/.test(c!.process.stderr()) || undefined,
    );
    expect(warned).toBe(true);
  }, 180_000);
});
