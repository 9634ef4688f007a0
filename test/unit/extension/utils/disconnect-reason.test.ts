import { describe, expect, it } from 'vitest';
import { classifyDisconnect } from '../../../../extension/utils/disconnect-reason.ts';
import { detectBrowserFamily } from '../../../../extension/utils/browser-family.ts';

describe('why the native port closed', () => {
  it.each([
    ['Specified native messaging host not found.', 'not-installed', 'HOST_NOT_INSTALLED'],
    ['Access to the specified native messaging host is forbidden.', 'not-installed', 'HOST_NOT_INSTALLED'],
    ['Native messaging host org.sandgate.agent is not registered.', 'not-installed', 'HOST_NOT_INSTALLED'],
    ['No such native application org.sandgate.agent', 'not-installed', 'HOST_NOT_INSTALLED'],
    ['Native host has exited.', 'not-running', 'HOST_DISCONNECTED'],
    ['Error when communicating with the native messaging host.', 'not-running', 'HOST_DISCONNECTED'],
    ['', 'not-running', 'HOST_DISCONNECTED'],
  ])('"%s" means %s (%s)', (message, state, code) => {
    expect(classifyDisconnect(message)).toMatchObject({ state, code });
  });
});

describe('browser family in provenance', () => {
  it.each([
    [{ userAgentData: { brands: [{ brand: 'Chromium' }, { brand: 'Not=A?Brand' }] } }, false, 'chromium'],
    [{ userAgentData: { brands: [{ brand: 'Google Chrome' }, { brand: 'Chromium' }] } }, false, 'chrome'],
    [{ userAgentData: { brands: [{ brand: 'Microsoft Edge' }, { brand: 'Chromium' }] } }, false, 'edge'],
    [{ brave: {}, userAgentData: { brands: [{ brand: 'Chromium' }] } }, false, 'brave'],
    [{ userAgentData: 'garbage' }, false, 'chromium'],
    [{}, true, 'firefox'],
  ])('%j → %s', (nav, firefox, family) => {
    expect(detectBrowserFamily(nav, firefox)).toBe(family);
  });
});
