import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_EXTENSION_ID, type RestoreAnswerView } from '@sandgate/shared';
import { spawnHost, type HostProcess } from '#test-helpers/spawn-host.ts';
import { pollFor } from '#test-helpers/stack.ts';
import { restoreText } from '../../../extension/utils/restore-words.ts';
import { answerAsRestore } from '../../../extension/utils/quarantine-view.ts';
import { englishTranslate } from '../../unit/extension/helpers/translate.ts';
import {
  ADMIN_PASSWORD,
  EICAR,
  EICAR_SHA256,
  enrollWorkstation,
  loginAs,
  runConsoleCli,
  startConsoleProcess,
  type ConsoleProcess,
  type Workstation,
} from './console-process.ts';

type Admin = Awaited<ReturnType<typeof loginAs>>;
const ORIGIN = `chrome-extension://${CHROMIUM_EXTENSION_ID}/`;

// Issue 17: an employee's "Ask for restore" reaches the administrators' inbox, and the answer reaches the employee.
// A real console, a real enrolled agent with its sandgate-lab, and the real native host speaking for the browser.
describe('employees ask for a restore; the administrator answers; the answer reaches their popup', () => {
  let dataDir: string;
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
  let console_: ConsoleProcess;
  let admin: Admin;
  let w: Workstation;
  let host: HostProcess;
  let quarantineId: string;
  let next = 0;
  const path = () => join(w.downloads, 'invoice.exe');

  const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);

  /** The browser side's request, through the native host as Chromium starts it. */
  async function ask(type: string, payload: object): Promise<any> {
    const id = `r${++next}`;
    host.send({ v: 1, kind: 'request', id, type, payload });
    for (;;) {
      const f = (await host.nextFrame()) as { kind?: string; id?: string; ok?: boolean; data?: unknown; error?: unknown };
      if (f.kind === 'response' && f.id === id) {
        if (!f.ok) throw new Error(`${type}: ${JSON.stringify(f.error)}`);
        return f.data;
      }
    }
  }

  /** What the agent tells the extension about this item's request, once `ready` accepts it. */
  const answerFor = (what: string, ready: (a: RestoreAnswerView) => boolean) =>
    pollFor(
      what,
      async () => {
        const r = (await ask('list-quarantine', { browser: 'chromium', limit: 50 })) as { answers?: RestoreAnswerView[] };
        const a = r.answers?.find((x) => x.quarantineId === quarantineId);
        return a && ready(a) ? a : undefined;
      },
      60_000,
    );

  /** The words the popup shows for that answer on the person's download (extension/utils/restore-words.ts). */
  const popupText = (a: RestoreAnswerView): string => {
    const restore = answerAsRestore(a);
    return restore ? restoreText(restore, englishTranslate()) : '';
  };

  /** The open request of this workstation in the inbox, once it has arrived. */
  const openRequest = () =>
    pollFor(
      'the request in the inbox',
      async () => {
        const { body } = await admin('GET', 'restore-requests?state=open');
        return (body.requests as Array<Record<string, any>>).find((r) => r.agentId === w.agentId);
      },
      60_000,
    );

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-restore-inbox-'));
    console_ = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0'], env);
    const ca = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
    expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
    admin = await loginAs(console_.info.adminUrl, ca, 'admin', ADMIN_PASSWORD);
    w = await enrollWorkstation({ cli, consoleProcess: console_, start: false });
    // The browser may name files in this workstation's Downloads; people may not restore themselves (the default).
    const policy = JSON.parse(readFileSync(w.policyPath, 'utf8'));
    writeFileSync(w.policyPath, JSON.stringify({ ...policy, capture: { downloadDirs: [w.downloads] } }), { mode: 0o600 });
    await w.startAgent();
    host = spawnHost({ home: w.home, args: ['--allow-origin', ORIGIN, '--', ORIGIN], env: { PATH: w.env.PATH! } });
    writeFileSync(path(), EICAR);
    await ask('submit-download', { path: path(), provenance: { source: 'browser', browser: 'chromium', downloadId: 1 } });
    quarantineId = await pollFor(
      'the download quarantined',
      async () => {
        const r = (await ask('list-quarantine', { browser: 'chromium', limit: 50 })) as { items: Array<{ id: string; sha256: string }> };
        return r.items.find((i) => i.sha256 === EICAR_SHA256)?.id;
      },
      60_000,
    );
    expect(existsSync(path())).toBe(false);
  }, 120_000);

  afterAll(async () => {
    host?.end();
    await w?.close();
    await console_?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('asked: the inbox shows the file, threat, workstation and who asked; declined with a reason: the popup says so', async () => {
    expect(await ask('restore-quarantined', { id: quarantineId })).toEqual({ outcome: 'requested' });
    const req = await openRequest();
    expect(req).toMatchObject({ fileName: 'invoice.exe', sha256: EICAR_SHA256, quarantineId, state: 'open' });
    expect(req.threat).toMatch(/EICAR/);
    expect(req.hostname).toBeTruthy();
    expect(req.askedBy).toBeTruthy();
    // Asked twice while open: still one request.
    expect(await ask('restore-quarantined', { id: quarantineId })).toEqual({ outcome: 'requested' });

    const d = await admin('POST', `restore-requests/${req.id}/decline`, {
      reason: 'This file is real malware; use the copy on the share.',
    });
    expect(d.status, JSON.stringify(d.body)).toBe(200);
    const a = await answerFor('the decline on the workstation', (x) => x.state === 'declined');
    expect(a.reason).toBe('This file is real malware; use the copy on the share.');
    expect(popupText(a)).toBe('Your administrator declined: This file is real malware; use the copy on the share.');
    expect(existsSync(path())).toBe(false);
    // The workstation acknowledged it: the console says the person has been told.
    await pollFor('the answer acknowledged', async () => {
      const { body } = await admin('GET', 'restore-requests?state=declined');
      return (body.requests as Array<Record<string, any>>).find((r) => r.id === req.id && r.delivered);
    });
    const again = await admin('POST', `restore-requests/${req.id}/approve`, {});
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'CONSOLE_CONFLICT', params: { reason: 'already-answered' } });
  });

  it('approved, but a file took the original place: the popup shows the refusal, never "restored"', async () => {
    expect(await ask('restore-quarantined', { id: quarantineId })).toEqual({ outcome: 'requested' });
    const req = await openRequest();
    writeFileSync(path(), 'the person’s new file\n');
    const r = await admin('POST', `restore-requests/${req.id}/approve`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const a = await answerFor('the refusal on the workstation', (x) => x.state === 'refused');
    expect(a.code).toBe('RESTORE_TARGET_EXISTS');
    expect(popupText(a)).toMatch(/^Your administrator approved the restore, but this computer refused it: RESTORE_TARGET_EXISTS/);
    expect(readFileSync(path(), 'utf8')).toBe('the person’s new file\n');
    unlinkSync(path());
  });

  it('approved: the file is back where it was, byte for byte, and the popup says "Restored by your administrator"', async () => {
    expect(await ask('restore-quarantined', { id: quarantineId })).toEqual({ outcome: 'requested' });
    const req = await openRequest();
    const r = await admin('POST', `restore-requests/${req.id}/approve`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const a = await answerFor('the restore on the workstation', (x) => x.state === 'restored');
    expect(a.path).toBe(path());
    expect(readFileSync(path(), 'utf8')).toBe(EICAR);
    expect(popupText(a)).toBe('Restored by your administrator.');
    const done = await pollFor('the inbox to show the restore done', async () => {
      const { body } = await admin('GET', 'restore-requests?state=approved');
      return (body.requests as Array<Record<string, any>>).find((x) => x.id === req.id && x.restore?.state === 'done');
    });
    expect(done.restore.items).toEqual([expect.objectContaining({ outcome: 'restored', path: path() })]);
    const audit = (await admin('GET', 'audit')).body.entries as Array<Record<string, any>>;
    expect(audit).toContainEqual(
      expect.objectContaining({ actor: 'user:admin', action: 'restore-request.approve', target: req.id, outcome: 'ok' }),
    );
    expect(audit).toContainEqual(expect.objectContaining({ actor: 'user:admin', action: 'restore-request.decline', outcome: 'ok' }));
  });
});
