import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESTORE_DECLINE_REASON_MAX } from '@sandgate/shared';
import { pollFor } from '#test-helpers/stack.ts';
import { EICAR_SHA256, httpsJson, type Workstation } from '../../integration/console/console-process.ts';
import { asWorkstation, startAttackConsole } from './console-fixture.ts';

interface InboxRow {
  id: string;
  agentId: string;
  state: string;
}

// Issue 17: an employee's restore request is answered by an administrator with the permission a restore needs, once,
// and never by the workstation that asked (nor by anyone who holds its files). Real console, real mutual TLS.
describe('who may answer an employee’s restore request', () => {
  let c: Awaited<ReturnType<typeof startAttackConsole>>;
  let w: Workstation;
  let request: InboxRow;
  let agentCall: (method: string, path: string, body?: unknown) => ReturnType<typeof httpsJson>;

  const stateOf = async (id: string) => {
    for (const state of ['open', 'approved', 'declined']) {
      const { body } = await c.admin('GET', `restore-requests?state=${state}`);
      if ((body.requests as InboxRow[]).some((r) => r.id === id)) return state;
    }
    return undefined;
  };
  const audit = async () => (await c.admin('GET', 'audit')).body.entries as Array<Record<string, any>>;

  beforeAll(async () => {
    c = await startAttackConsole();
    // The agent is not started: its certificate and key are all the attacker uses.
    w = await c.workstation('office', false);
    const cert = readFileSync(join(w.home, 'console', 'agent-cert.pem'), 'utf8');
    const key = readFileSync(join(w.home, 'console', 'agent-key.pem'), 'utf8');
    agentCall = (method, path, body) =>
      httpsJson(`${c.consoleProcess.info.agentUrl}${path}`, { method, ca: c.ca, cert, key, ...(body === undefined ? {} : { body }) });
    const sent = await asWorkstation(c.consoleProcess, c.ca, w).postEvents([
      {
        seq: 0,
        event: {
          time: new Date().toISOString(),
          type: 'restore-requested',
          sha256: EICAR_SHA256,
          quarantineId: 'a'.repeat(32),
          path: '/home/eve/Downloads/payroll.exe',
          threat: 'EICAR-Test-File',
          level: 'malicious',
          user: 'eve',
        },
      },
    ]);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    request = await pollFor('the request in the inbox', async () => {
      const { body } = await c.admin('GET', 'restore-requests');
      return (body.requests as InboxRow[]).find((r) => r.agentId === w.agentId);
    });
  }, 120_000);

  afterAll(async () => {
    await c?.close();
  });

  it('a viewer can neither approve nor decline: refused, audited, and the request stays open', async () => {
    const approve = await c.viewer('POST', `restore-requests/${request.id}/approve`, {});
    expect(approve.status).toBe(403);
    expect(approve.body.error).toMatchObject({ code: 'CONSOLE_FORBIDDEN', params: { permission: 'manage-ioc-tasks' } });
    const decline = await c.viewer('POST', `restore-requests/${request.id}/decline`, { reason: 'no' });
    expect(decline.status).toBe(403);
    const rows = await audit();
    for (const action of ['restore-request.approve', 'restore-request.decline'])
      expect(rows).toContainEqual(
        expect.objectContaining({
          actor: 'user:vic',
          action,
          target: request.id,
          outcome: 'refused',
          details: expect.objectContaining({ code: 'CONSOLE_FORBIDDEN' }),
        }),
      );
    expect(await stateOf(request.id)).toBe('open');
  });

  it('the workstation cannot answer its own request: the agent API has no such route, and a forged acknowledgement is refused', async () => {
    for (const path of [
      `/agent/v1/restore-requests/${request.id}/approve`,
      '/agent/v1/restore-answer',
      `/api/restore-requests/${request.id}/approve`,
    ]) {
      // No body: an unknown route takes none, so a body would be refused before routing (413).
      const r = await agentCall('POST', path);
      expect(r.status, path).toBe(404);
    }
    // The one report an agent sends about an answer (its acknowledgement) is no answer while the request is open.
    const forged = await agentCall('POST', '/agent/v1/restore-progress', { taskId: request.id, state: 'done', items: [] });
    expect(forged.status).toBe(404);
    expect(forged.body.error.code).toBe('CONSOLE_NOT_FOUND');
    // And the poll carries no answer it could have made itself.
    const poll = await agentCall('GET', '/agent/v1/poll?waitMs=0');
    expect(poll.status).toBe(200);
    expect(poll.body.tasks).toEqual([]);
    expect(await stateOf(request.id)).toBe('open');
  });

  it('a decline needs a reason of bounded length; an over-long or empty one is refused and the request stays open', async () => {
    const long = await c.admin('POST', `restore-requests/${request.id}/decline`, { reason: 'x'.repeat(RESTORE_DECLINE_REASON_MAX + 1) });
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('MESSAGE_INVALID');
    const empty = await c.admin('POST', `restore-requests/${request.id}/decline`, { reason: '   ' });
    expect(empty.status).toBe(400);
    const none = await c.admin('POST', `restore-requests/${request.id}/decline`, {});
    expect(none.status).toBe(400);
    expect(await stateOf(request.id)).toBe('open');
  });

  it('answered once: a second answer is CONSOLE_CONFLICT, and the first one stands', async () => {
    const [a, b] = await Promise.all([
      c.admin('POST', `restore-requests/${request.id}/decline`, { reason: 'x'.repeat(RESTORE_DECLINE_REASON_MAX) }),
      c.admin('POST', `restore-requests/${request.id}/decline`, { reason: 'second' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body.error).toMatchObject({ code: 'CONSOLE_CONFLICT', params: { reason: 'already-answered', state: 'declined' } });
    const late = await c.admin('POST', `restore-requests/${request.id}/approve`, {});
    expect(late.status).toBe(409);
    expect(await stateOf(request.id)).toBe('declined');
    // Only now does the workstation get an answer, and its acknowledgement is taken.
    const poll = await agentCall('GET', '/agent/v1/poll?waitMs=0');
    expect(poll.body.tasks).toEqual([expect.objectContaining({ type: 'restore-answer', id: request.id, decision: 'declined' })]);
    const ack = await agentCall('POST', '/agent/v1/restore-progress', { taskId: request.id, state: 'done', items: [] });
    expect(ack.status).toBe(200);
    expect((await agentCall('GET', '/agent/v1/poll?waitMs=0')).body.tasks).toEqual([]);
  });
});
