import { describe, expect, it } from 'vitest';
import { BROWSER_REQUEST_TYPES, REQUEST_TYPES, policySchema, requestSchema } from '@sandgate/shared';

describe('protocol contract', () => {
  it('lets the browser send only request types the agent knows', () => {
    for (const t of BROWSER_REQUEST_TYPES) expect(REQUEST_TYPES).toContain(t);
    expect(BROWSER_REQUEST_TYPES).not.toContain('submit-file');
  });

  it('parses the example messages of PROTOCOL.md', () => {
    const hello = { v: 1, kind: 'request', id: '1', type: 'hello', payload: { minV: 1, capabilities: ['verdict-push'], client: 'x' } };
    expect(requestSchema.safeParse(hello).success).toBe(true);
    const bad = { ...hello, type: 'format-disk' };
    expect(requestSchema.safeParse(bad).success).toBe(false);
  });
});

describe('policy schema', () => {
  const base = { sandbox: { servers: [{ url: 'https://sandbox1.corp.example:8443' }], serverCertificate: '/etc/sandgate/ca.pem' } };

  it('fills the documented defaults: 500 ms connect timeout, 100 MiB queue, quarantine on', () => {
    const p = policySchema.parse(base);
    expect(p.sandbox.connectTimeoutMs).toBe(500);
    expect(p.sandbox.requestQueueMaxBytes).toBe(104857600);
    expect(p.sandbox.servers[0]!.kind).toBe('sandgate');
    expect(p.response.quarantine).toBe(true);
  });

  it.each([
    ['https://10.0.0.5:8443', true],
    ['https://[fd00::5]:8443', true],
    ['https://cape.corp.example', true],
    ['http://sandbox1.corp.example:8443', false],
    ['https://sandbox1:8443', false],
    ['https://user:pw@sandbox1.corp.example', false],
    ['https://300.1.1.1:8443', false],
  ])('server URL %s accepted: %s', (url, ok) => {
    const r = policySchema.safeParse({ sandbox: { ...base.sandbox, servers: [{ url }] } });
    expect(r.success).toBe(ok);
  });

  it('rejects unknown keys so a typo in a policy is reported, not ignored', () => {
    const r = policySchema.safeParse({ ...base, sandbox: { ...base.sandbox, conectTimeoutMs: 5 } });
    expect(r.success).toBe(false);
  });
});
