import { describe, expect, it } from 'vitest';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PROTOCOL_VERSION,
  REQUEST_TYPES,
  SandgateError,
  policySchema,
  requestSchema,
  type Job,
  type Provenance,
  type Request,
} from '@sandgate/shared';
import type { Agent } from '#native-host/agent/agent.ts';
import { createRouter } from '#native-host/router.ts';

/** The download folder the fake agent's policy names. */
const downloads = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-router-dl-')));

function fakeAgent() {
  const submitted: Array<{ path: string; provenance: Provenance }> = [];
  const agent: Agent = {
    submit: async (path, provenance) => {
      submitted.push({ path, provenance });
      return { jobId: 'j1', sha256: 'a'.repeat(64), size: 1, state: 'queued' };
    },
    status: () => ({
      appVersion: '9',
      pid: 1,
      startedAt: 'now',
      home: '/h',
      servers: [],
      queue: { objects: 0, bytes: 0, limitBytes: 1 },
      recent: [],
    }),
    policy: () =>
      policySchema.parse({
        sandbox: { servers: [{ url: 'https://127.0.0.1:1' }], serverCertificate: '/nonexistent.pem' },
        capture: { downloadDirs: [downloads] },
      }),
    listJobs: (limit) => Array.from({ length: limit }, (_, i) => ({ jobId: `j${i}` }) as Job),
    getJob: () => undefined,
    onJobUpdate: () => () => {},
    onAgentStatus: () => () => {},
    close: async () => {},
  };
  return { agent, submitted };
}

const req = (raw: object): Request => requestSchema.parse({ v: 1, kind: 'request', id: '1', ...raw });

describe('router', () => {
  it('answers hello with the protocol version, app version and capabilities', async () => {
    const r = createRouter(fakeAgent().agent, { appVersion: '0.1.0' });
    const hello = await r.handle(req({ type: 'hello', payload: { minV: 1, capabilities: [], client: 'test' } }));
    expect(hello).toEqual({
      v: PROTOCOL_VERSION,
      appVersion: '0.1.0',
      capabilities: expect.arrayContaining(['submit-download', 'verdict-push']),
    });
  });

  it('refuses a peer that needs a newer protocol than this agent speaks', async () => {
    const r = createRouter(fakeAgent().agent, { appVersion: '0.1.0' });
    await expect(
      r.handle(
        req({ v: PROTOCOL_VERSION + 1, type: 'hello', payload: { minV: PROTOCOL_VERSION + 1, capabilities: [], client: 'future' } }),
      ),
    ).rejects.toMatchObject({
      code: 'PROTOCOL_VERSION_UNSUPPORTED',
    });
  });

  it('passes a download with its provenance, source and caller set by the agent, and a CLI file with provenance "cli"', async () => {
    const { agent, submitted } = fakeAgent();
    const r = createRouter(agent, { appVersion: '0.1.0', home: mkdtempSync(join(tmpdir(), 'sandgate-router-')) });
    const a = join(downloads, 'a.exe');
    writeFileSync(a, 'MZ');
    await r.handle(
      req({
        type: 'submit-download',
        caller: 'chromium:' + 'a'.repeat(32),
        payload: { path: a, provenance: { source: 'cli', downloadId: 3, caller: 'firefox:forged@x' } },
      }),
    );
    await r.handle(req({ type: 'submit-file', payload: { path: '/d/b.exe' } }));
    expect(submitted).toEqual([
      { path: a, provenance: { source: 'browser', downloadId: 3, caller: 'chromium:' + 'a'.repeat(32) } },
      { path: '/d/b.exe', provenance: { source: 'cli' } },
    ]);
  });

  it('answers get-status and list-jobs (limit defaulted by the schema)', async () => {
    const r = createRouter(fakeAgent().agent, { appVersion: '0.1.0' });
    expect(await r.handle(req({ type: 'get-status', payload: {} }))).toMatchObject({ appVersion: '9' });
    expect(((await r.handle(req({ type: 'list-jobs' }))) as { jobs: Job[] }).jobs).toHaveLength(50);
  });

  it('has a handler for every request type', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sandgate-router-'));
    const r = createRouter(fakeAgent().agent, { appVersion: '0.1.0', home, usersMayRestore: async () => false });
    const samples: Record<string, object> = {
      hello: { minV: 1, capabilities: [], client: 'x' },
      'submit-download': { path: '/a', provenance: { source: 'browser' } },
      'submit-file': { path: '/a' },
      'get-status': {},
      'list-jobs': { limit: 1 },
      'list-quarantine': { browser: 'chromium' },
      'restore-quarantined': { id: 'a'.repeat(32) },
      'release-held': { path: '/d/a.exe.sandgate-hold', sha256: 'a'.repeat(64), jobId: 'j1' },
      'list-tasks': {},
      'task-command': { command: 'show', id: '0'.repeat(16) },
      'report-idle': { state: 'locked' },
    };
    // Answered means a result or a coded refusal (no such item, no such file), never a missing handler.
    for (const type of REQUEST_TYPES) {
      const outcome = await r.handle(req({ type, payload: samples[type] })).then(
        (v) => v !== undefined,
        (e: unknown) => e instanceof SandgateError,
      );
      expect(outcome, type).toBe(true);
    }
    rmSync(home, { recursive: true, force: true });
  });
});
