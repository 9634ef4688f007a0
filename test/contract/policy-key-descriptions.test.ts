import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { policyKeys, schemaKeys } from '@sandgate/shared';

// The policy editor explains every key from the schema itself: a key added without a description fails here.
describe('every key of a group policy document is explained', () => {
  const keys = policyKeys();

  it('has a description for every key of policySchema and of the console-only groupActions', () => {
    const undescribed = keys.filter((k) => !k.description.trim()).map((k) => k.path);
    expect(undescribed).toEqual([]);
  });

  it('lists the keys of every level: lists, unions of objects, maps and the console-only section', () => {
    const paths = keys.map((k) => k.path);
    for (const p of [
      'sandbox.servers[].token',
      'sandbox.clientCertificate.pfx',
      'sandbox.clientCertificate.key',
      'response.iocScan.onMatch.quarantine',
      'capture.pendingVerdict.byExtension.*',
      'console.urls',
      'groupActions.onThreat.neverQuarantine.publishers[].caSha256',
      'groupActions.taskExpiresHours',
    ])
      expect(paths).toContain(p);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('gives the defaults the agents fill in, from the schema', () => {
    const byPath = new Map(keys.map((k) => [k.path, k]));
    expect(byPath.get('sandbox.connectTimeoutMs')).toMatchObject({ default: 500, type: 'a whole number, 50 to 60000', required: false });
    expect(byPath.get('sandbox.serverCertificate')).toMatchObject({ required: true });
    expect(byPath.get('sandbox.servers[].kind')?.default).toBe('sandgate');
    expect(byPath.get('groupActions.taskExpiresHours')?.default).toBe(168);
  });

  it('would notice a key added without a description, however deep', () => {
    const drifted = z.strictObject({
      a: z.number().default(1).describe('described'),
      b: z.strictObject({ c: z.array(z.strictObject({ d: z.string() })).describe('described') }).describe('described'),
    });
    expect(
      schemaKeys(drifted)
        .filter((k) => !k.description)
        .map((k) => k.path),
    ).toEqual(['b.c[].d']);
  });
});
