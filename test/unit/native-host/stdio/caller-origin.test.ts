import { describe, expect, it } from 'vitest';
import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID } from '@sandgate/shared';
import { identifyCaller, isCallerAllowed, parseBridgeArgs } from '#native-host/stdio/caller-origin.ts';

const OTHER = 'a'.repeat(32);

describe('caller origin', () => {
  it('launcher flags come first and the browser arguments follow', () => {
    const a = parseBridgeArgs([
      '--allow-origin',
      `chrome-extension://${OTHER}/`,
      '--allow-origin',
      'x@y.org',
      `chrome-extension://${OTHER}/`,
    ]);
    expect(a.allow).toEqual([`chrome-extension://${OTHER}/`, 'x@y.org']);
    expect(a.browserArgs).toEqual([`chrome-extension://${OTHER}/`]);
  });

  it('Chromium on Windows appends --parent-window after the origin; it is not mistaken for a flag of ours', () => {
    const a = parseBridgeArgs([`chrome-extension://${CHROMIUM_EXTENSION_ID}/`, '--parent-window=0']);
    expect(identifyCaller(a.browserArgs)).toEqual({ kind: 'chromium', id: CHROMIUM_EXTENSION_ID });
  });

  it('Firefox passes the manifest path then the add-on id', () => {
    const c = identifyCaller(['/home/u/.mozilla/native-messaging-hosts/org.sandgate.agent.json', FIREFOX_EXTENSION_ID]);
    expect(c).toEqual({ kind: 'firefox', id: FIREFOX_EXTENSION_ID });
    expect(isCallerAllowed(c, [FIREFOX_EXTENSION_ID])).toBe(true);
    expect(isCallerAllowed(c, [`chrome-extension://${CHROMIUM_EXTENSION_ID}/`])).toBe(false);
  });

  it('an allowed origin may be given as an origin or a bare ID', () => {
    const c = identifyCaller([`chrome-extension://${OTHER}/`]);
    expect(isCallerAllowed(c, [`chrome-extension://${OTHER}/`])).toBe(true);
    expect(isCallerAllowed(c, [OTHER])).toBe(true);
    expect(isCallerAllowed(c, [`chrome-extension://${CHROMIUM_EXTENSION_ID}/`])).toBe(false);
  });

  it('without --allow-origin only the official Sandgate IDs are served', () => {
    expect(isCallerAllowed(identifyCaller([`chrome-extension://${CHROMIUM_EXTENSION_ID}/`]), [])).toBe(true);
    expect(isCallerAllowed(identifyCaller([`chrome-extension://${OTHER}/`]), [])).toBe(false);
  });

  it('no origin, or something that is not one, is never allowed', () => {
    expect(isCallerAllowed(identifyCaller([]), [OTHER])).toBe(false);
    expect(isCallerAllowed(identifyCaller(['https://evil.example/']), ['https://evil.example/'])).toBe(false);
    expect(isCallerAllowed(identifyCaller(['chrome-extension://*/']), ['*'])).toBe(false);
  });

  it('a flag without its value is a usage error', () => {
    expect(() => parseBridgeArgs(['--allow-origin'])).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
