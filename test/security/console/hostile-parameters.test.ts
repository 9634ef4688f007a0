import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsJson, loginAs, type HttpAnswer } from '../../integration/console/console-process.ts';
import { PASSWORDS, startConsoleWithRoles, type ConsoleWithRoles } from '../../integration/console/console-fixture.ts';

// Issue 14: "`GET /api/events?limit=NaN` answers with raw database text; `limit=-1` too; the audit read has no upper
// bound". Every query parameter, path id and body of both APIs is sent the values an attacker tries; each must be a
// coded 400 naming where the bad value was, with no database text. The real console process.

/** Text PostgreSQL (and PGlite) put in their errors: none of it may reach a client. */
const DATABASE_TEXT =
  /invalid input syntax|relation "|out of range for|violates|LIMIT must|column "|syntax error at|must not be negative|pglite|sqlstate/i;

const BAD_NUMBERS = [
  'NaN',
  '-1',
  '0',
  '1.5',
  '1e3',
  '0x10',
  ' 5',
  '',
  'abc',
  '99999999999999999999',
  '1;DROP TABLE audit_log',
  "1' OR '1'='1",
  'Infinity',
];
const BAD_IDS = [
  'NaN',
  '-1',
  '1e3',
  '99999999999999999999',
  '1;DROP TABLE groups',
  "' OR 1=1 --",
  'not-a-uuid',
  '00000000-0000-0000-0000-00000000000g',
];

function expectRefused(r: HttpAnswer, place: 'query' | 'path' | 'body', what: string): void {
  expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(400);
  expect(r.body.error, what).toMatchObject({ code: 'MESSAGE_INVALID', params: { in: place } });
  expect(JSON.stringify(r.body), what).not.toMatch(DATABASE_TEXT);
}

describe('hostile query parameters, path ids and bodies on every console route', () => {
  let c: ConsoleWithRoles;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  let agent: { agentId: string; cert: string; key: string };
  const asAgent = (method: string, path: string, body?: unknown) =>
    httpsJson(`${c.agentUrl}${path}`, { method, ca: c.ca, cert: agent.cert, key: agent.key, body });

  beforeAll(async () => {
    c = await startConsoleWithRoles();
    admin = await loginAs(c.adminUrl, c.ca, 'admin', PASSWORDS.admin);
    expect((await admin('POST', 'groups', { name: 'office' })).status).toBe(200);
    agent = await c.enrollAgent('office');
  }, 180_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('list limits: NaN, negative, zero, fractions, exponents, hex, blanks, text, SQL and numbers past the maximum are refused on every list', async () => {
    const lists = [`agents`, `events`, `agents/${agent.agentId}/events`, `tasks`, `restores`, `restore-requests`, `audit`];
    const over = {
      agents: '1001',
      events: '1001',
      [`agents/${agent.agentId}/events`]: '1001',
      tasks: '501',
      restores: '501',
      'restore-requests': '501',
      audit: '1001',
    };
    for (const list of lists) {
      for (const value of [...BAD_NUMBERS, over[list]!])
        expectRefused(await admin('GET', `${list}?limit=${encodeURIComponent(value)}`), 'query', `${list}?limit=${value}`);
      // Two values for one parameter, and parameters the route does not take.
      expectRefused(await admin('GET', `${list}?limit=1&limit=2`), 'query', `${list} limit twice`);
      expectRefused(await admin('GET', `${list}?limit=5&extra=1`), 'query', `${list} extra parameter`);
      expectRefused(await admin('GET', `${list}?__proto__=1`), 'query', `${list} __proto__`);
    }
    for (const bad of ['state=closed', "state=open'--", 'offset=-1', 'offset=1e3'])
      expectRefused(await admin('GET', `restore-requests?${bad}`), 'query', `restore-requests?${bad}`);
    for (const value of BAD_NUMBERS)
      expectRefused(await admin('GET', `audit?before=${encodeURIComponent(value)}`), 'query', `audit?before=${value}`);
    // The events view's filters and cursor (issue 17): only known values, never text the SQL would see.
    for (const q of [
      "severity=threat' OR '1'='1",
      'severity=everything',
      'type=verdict;DROP TABLE agent_events',
      'agent=desk-1',
      "before=2026-12-01T00:00:00.000000Z|x'--|1",
      'before=yesterday',
    ])
      expectRefused(await admin('GET', `events?${q.replace(/[^=&]+$/, encodeURIComponent)}`), 'query', `events?${q}`);
  });

  it('bounded values still work: a limit is honoured and the audit log pages back with its cursor', async () => {
    const page = await admin('GET', 'audit?limit=2');
    expect(page.status).toBe(200);
    expect(page.body.entries).toHaveLength(2);
    const older = await admin('GET', `audit?limit=1000&before=${page.body.entries[1].id}`);
    expect(older.status).toBe(200);
    expect(older.body.entries.every((e: { id: number }) => e.id < page.body.entries[1].id)).toBe(true);
    expect((await admin('GET', 'events?limit=1000')).status).toBe(200);
  });

  it('routes without parameters refuse any', async () => {
    for (const path of ['agents', 'groups', 'session']) expectRefused(await admin('GET', `${path}?limit=NaN`), 'query', path);
  });

  it('path ids: a workstation, group, task or restore id that is not one is refused before the database sees it', async () => {
    for (const id of BAD_IDS) {
      const e = encodeURIComponent(id);
      expectRefused(await admin('GET', `agents/${e}/events`), 'path', `agents/${id}/events`);
      expectRefused(await admin('POST', `agents/${e}/group`, { groupId: null }), 'path', `agents/${id}/group`);
      expectRefused(await admin('POST', `agents/${e}/revoke`, {}), 'path', `agents/${id}/revoke`);
      expectRefused(await admin('PUT', `groups/${e}/policy`, { policy: null }), 'path', `groups/${id}/policy`);
      expectRefused(await admin('PUT', `groups/${e}/actions`, { groupActions: null }), 'path', `groups/${id}/actions`);
      expectRefused(await admin('GET', `tasks/${e}`), 'path', `tasks/${id}`);
      expectRefused(await admin('POST', `tasks/${e}/cancel`, {}), 'path', `tasks/${id}/cancel`);
      expectRefused(await admin('GET', `restores/${e}`), 'path', `restores/${id}`);
      expectRefused(await admin('POST', `restore-requests/${e}/approve`, {}), 'path', `restore-requests/${id}/approve`);
      expectRefused(await admin('POST', `restore-requests/${e}/decline`, { reason: 'no' }), 'path', `restore-requests/${id}/decline`);
    }
    // Broken percent-encoding in a path segment.
    expectRefused(await admin('GET', 'tasks/%E0%A4%A'), 'path', 'bad percent-encoding');
  });

  it('bodies: wrong types, arrays, oversized strings, unknown keys and numbers past what the database holds are refused', async () => {
    const cases: Array<[string, string, unknown]> = [
      ['POST', 'groups', { name: 123 }],
      ['POST', 'groups', { name: 'x'.repeat(65) }],
      ['POST', 'groups', { name: 'ok', extra: true }],
      ['POST', 'groups', ['office']],
      ['POST', `agents/${agent.agentId}/group`, { groupId: 1e300 }],
      ['POST', `agents/${agent.agentId}/group`, { groupId: -1 }],
      ['POST', `agents/${agent.agentId}/group`, { groupId: '1' }],
      ['POST', `agents/${agent.agentId}/group`, { groupId: 2 ** 63 }],
      ['PUT', 'groups/1/policy', { policy: [1, 2] }],
      ['PUT', 'groups/1/policy', { policy: "'; DROP TABLE groups; --" }],
      ['PUT', 'groups/1/actions', { groupActions: 5 }],
      ['POST', 'users', { name: 'eve', role: 'admin', password: ['a'] }],
      ['POST', 'users', { name: 'eve', role: 'x'.repeat(33), password: 'long enough password' }],
      ['POST', 'tokens', { ttlHours: -1 }],
      ['POST', 'tokens', { group: { $ne: null } }],
      ['POST', `agents/${agent.agentId}/revoke`, { force: true }],
      ['POST', 'logout', { everyone: true }],
      ['POST', 'quarantine/restore', { sha256: "' OR 1=1 --", agentId: agent.agentId }],
    ];
    for (const [method, path, body] of cases) {
      const r = await admin(method, path, body);
      // A refused mutation is audited; its answer is the same 400.
      expectRefused(r, 'body', `${method} ${path} ${JSON.stringify(body).slice(0, 60)}`);
    }
    const login = await httpsJson(`${c.adminUrl}/api/login`, {
      method: 'POST',
      ca: c.ca,
      body: { name: ['admin'], password: { $gt: '' } },
    });
    expectRefused(login, 'body', 'login with arrays and objects');
  });

  it('the agent API: poll values, heartbeat and event numbers past what the database holds, and parameters on routes that take none', async () => {
    for (const value of BAD_NUMBERS.filter((v) => v !== '0')) {
      expectRefused(await asAgent('GET', `/agent/v1/poll?waitMs=${encodeURIComponent(value)}`), 'query', `poll waitMs=${value}`);
      expectRefused(
        await asAgent('GET', `/agent/v1/poll?policyRevision=${encodeURIComponent(value)}&waitMs=0`),
        'query',
        `poll policyRevision=${value}`,
      );
    }
    expectRefused(await asAgent('GET', '/agent/v1/poll?waitMs=0&waitMs=1'), 'query', 'poll waitMs twice');
    expectRefused(await asAgent('GET', '/agent/v1/poll?waitMs=60000'), 'query', 'poll waitMs past 55 s');
    const ca = await httpsJson(`${c.agentUrl}/agent/v1/ca?x=1`, { ca: c.ca });
    expectRefused(ca, 'query', 'ca with a parameter');

    const host = { hostname: 'ws-1', platform: 'linux', release: '6', arch: 'x64' };
    const heartbeat = {
      agentId: agent.agentId,
      appVersion: '0.1.0',
      host,
      startedAt: new Date().toISOString(),
      heartbeatMs: 30_000,
      queue: { objects: 0, bytes: 0, limitBytes: 1 },
      servers: [],
      policyRevision: 0,
      eventBacklog: 0,
    };
    expect((await asAgent('POST', '/agent/v1/heartbeat', heartbeat)).status).toBe(200);
    for (const heartbeatMs of [2 ** 40, -1, 1.5])
      expectRefused(await asAgent('POST', '/agent/v1/heartbeat', { ...heartbeat, heartbeatMs }), 'body', `heartbeatMs ${heartbeatMs}`);
    const event = { type: 'agent-started', time: new Date().toISOString() };
    for (const seq of [-1, 1.5, 2 ** 60])
      expectRefused(await asAgent('POST', '/agent/v1/events', { events: [{ seq, event }] }), 'body', `event seq ${seq}`);
    expectRefused(await asAgent('POST', '/agent/v1/task-progress', { taskId: "' OR 1=1" }), 'body', 'task progress');
    expectRefused(await asAgent('POST', '/agent/v1/restore-progress', { taskId: 'not-a-uuid', state: 'done' }), 'body', 'restore progress');
    const enroll = await httpsJson(`${c.agentUrl}/agent/v1/enroll`, { method: 'POST', ca: c.ca, body: { token: ['x'], csr: 1 } });
    expectRefused(enroll, 'body', 'enroll');
  });
});
