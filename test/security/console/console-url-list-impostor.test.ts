import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { makeCa, makeLeaf } from '#test-helpers/pki.ts';
import { closeServer, listenLoopback } from '#test-helpers/loopback-server.ts';
import { pollFor } from '#test-helpers/stack.ts';
import { PASSWORDS, startConsoleWithRoles, type ConsoleWithRoles } from '../../integration/console/console-fixture.ts';
import { enrollWorkstation, loginAs, type Workstation } from '../../integration/console/console-process.ts';

/**
 * Attack: whoever can change a group's policy (or a local policy file) names their own server first in
 * `console.urls`, with a certificate for the right address from a CA of their own, hoping the workstation sends it
 * its heartbeats, events and certificate requests, and takes tasks from it. Defence: every console URL is reached
 * through the console CA the agent pinned at enrollment, and nothing else; the impostor never sees a request, and
 * the agent goes on with the real console.
 */
describe('a console URL list cannot steer an agent to a server the pinned console CA does not vouch for', () => {
  let console_: ConsoleWithRoles;
  let impostor: Server;
  let impostorUrl: string;
  let ws: Workstation;
  const requests: string[] = [];

  beforeAll(async () => {
    console_ = await startConsoleWithRoles();
    const leaf = makeLeaf(makeCa('Impostor CA'));
    impostor = createServer({ ...leaf, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, serverTime: new Date().toISOString(), tasks: [] }));
    });
    impostorUrl = `https://127.0.0.1:${await listenLoopback(impostor)}`;
    ws = await enrollWorkstation({ cli: console_.cli, consoleProcess: console_.process, start: false });
    const policy = JSON.parse(readFileSync(ws.policyPath, 'utf8'));
    writeFileSync(ws.policyPath, JSON.stringify({ ...policy, console: { urls: [impostorUrl, console_.agentUrl] } }));
    await ws.startAgent();
  }, 90_000);

  afterAll(async () => {
    await ws?.close();
    if (impostor) await closeServer(impostor);
    await console_?.stop();
  });

  it('the impostor named first gets no request; the real console gets the heartbeats', async () => {
    const admin = await loginAs(console_.adminUrl, console_.ca, 'admin', PASSWORDS.admin);
    await pollFor(
      'a heartbeat at the real console',
      async () => {
        const { body } = await admin('GET', 'agents');
        return (body.agents as Array<{ id: string; last_seen_at: string | null }>).find((a) => a.id === ws.agentId && a.last_seen_at)
          ? true
          : undefined;
      },
      30_000,
    );
    await pollFor(
      'the impostor skipped for its certificate',
      () => (/console URL skipped until a probe reaches it.*TLS_CERTIFICATE_REJECTED/.test(ws.agentLog()) ? true : undefined),
      30_000,
    );
    expect(requests).toEqual([]);
  }, 60_000);
});
