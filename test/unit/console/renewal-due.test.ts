import { describe, expect, it } from 'vitest';
import { renewalDueAt } from '#native-host/console/cert-renewal.ts';
import { makeCa, makeLeaf } from '#test-helpers/pki.ts';

const DAY = 86_400_000;
const ca = makeCa();
const certFor = (notBefore: Date, days: number) =>
  makeLeaf(ca, { client: true, notBefore, notAfter: new Date(notBefore.getTime() + days * DAY) }).cert;

describe('when an agent renews its console certificate', () => {
  const issued = new Date('2026-01-01T00:00:00Z');

  it('a 365-day certificate is renewed at two thirds of its life, long before the last 30 days', () => {
    expect(renewalDueAt(certFor(issued, 365)).getTime()).toBe(issued.getTime() + (365 * DAY * 2) / 3);
  });

  it('a certificate with 30 days or less to live is due at once', () => {
    const now = new Date();
    expect(renewalDueAt(certFor(new Date(now.getTime() - DAY), 20)).getTime()).toBeLessThanOrEqual(now.getTime());
  });

  it('a short-lived certificate (under 90 days) is renewed 30 days before it ends', () => {
    expect(renewalDueAt(certFor(issued, 60)).getTime()).toBe(issued.getTime() + 30 * DAY);
  });
});
