import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startConsole, type RunningConsole } from '#console/server/start-console.ts';
import { addUser } from '#console/users/users.ts';
import { loginAs } from '../../integration/console/console-process.ts';

const PASSWORD = 'admin-password-for-tests';

// Every input is parsed now, so the attacks of issue 14 no longer reach the database. What is left is a database that
// fails on its own (a table gone, a server restarting): its text names tables, columns and the values it choked on,
// and must stay in the console's log. The console runs in this process so the test can break its database and read
// its log; the call goes through the real admin HTTPS listener.
describe('a database error behind a console route', () => {
  let dataDir: string;
  let c: RunningConsole;
  const log: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-dberror-'));
    c = await startConsole({ dataDir, host: '127.0.0.1', port: 0, adminPort: 0, log: (line) => log.push(line) });
    await addUser(c.db, 'admin', 'admin', PASSWORD);
  }, 180_000);
  afterAll(async () => {
    await c?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is answered 500 INTERNAL with an incident id only; the text, without the values it quotes, is in the log under that id', async () => {
    const admin = await loginAs(c.adminUrl, c.ca.certPem, 'admin', PASSWORD);
    await c.db.exec('ALTER TABLE agent_events RENAME TO agent_events_gone');
    try {
      const r = await admin('GET', 'events?limit=5');
      expect(r.status).toBe(500);
      expect(r.body.error).toMatchObject({ code: 'INTERNAL', retryable: false, params: { incident: expect.any(String) } });
      expect(JSON.stringify(r.body)).not.toMatch(/agent_events|relation|does not exist|SELECT/i);
      const line = log.find((l) => l.includes(r.body.error.params.incident));
      expect(line).toMatch(/GET \/api\/events: .*\[42P01\]/);
      expect(line).not.toContain('agent_events');
    } finally {
      await c.db.exec('ALTER TABLE agent_events_gone RENAME TO agent_events');
    }
    expect((await admin('GET', 'events?limit=5')).status).toBe(200);
  });
});
