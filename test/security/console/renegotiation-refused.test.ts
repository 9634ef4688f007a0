import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Workstation } from '../../integration/console/console-process.ts';
import { startAttackConsole } from './console-fixture.ts';

// The console reads an agent's identity once per connection (agent-api/peer-identity.ts). Under TLS 1.2 a client may
// renegotiate on an open connection, and a renegotiation can carry another certificate: the identity read first would
// then no longer be the one the connection holds. The agents' port refuses renegotiation, so it cannot.
describe('an enrolled workstation renegotiates its connection to the console', () => {
  let c: Awaited<ReturnType<typeof startAttackConsole>>;
  let w: Workstation;

  beforeAll(async () => {
    c = await startAttackConsole();
    w = await c.workstation('office', false);
  }, 180_000);
  afterAll(() => c?.close());

  it('is refused: the connection ends instead of being verified again', async () => {
    const url = new URL(c.consoleProcess.info.agentUrl);
    const socket = tls.connect({
      host: url.hostname,
      port: Number(url.port),
      ca: c.ca,
      cert: readFileSync(join(w.home, 'console', 'agent-cert.pem'), 'utf8'),
      key: readFileSync(join(w.home, 'console', 'agent-key.pem'), 'utf8'),
      maxVersion: 'TLSv1.2',
      servername: 'localhost',
      checkServerIdentity: () => undefined,
    });
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.getProtocol()).toBe('TLSv1.2');
    const outcome = await new Promise<string>((resolve) => {
      socket.once('close', () => resolve('connection closed'));
      const asked = socket.renegotiate({ rejectUnauthorized: true }, (err) => resolve(err ? 'refused' : 'renegotiated'));
      if (!asked) resolve('refused');
      // A renegotiation goes on with the next bytes on the connection.
      socket.write('GET /agent/v1/ca HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    socket.destroy();
    expect(outcome).not.toBe('renegotiated');
  });
});
