import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHROMIUM_EXTENSION_ID, EXTENSION_PUBLIC_KEY } from '@sandgate/shared';
import config from '../../../extension/wxt.config.ts';

/** Chromium's rule: SHA-256 of the DER public key, first 32 hex digits, each mapped 0–f → a–p. */
function extensionIdFromKey(base64Key: string): string {
  return createHash('sha256')
    .update(Buffer.from(base64Key, 'base64'))
    .digest('hex')
    .slice(0, 32)
    .replace(/[0-9a-f]/g, (c) => String.fromCharCode(97 + parseInt(c, 16)));
}

describe('extension identity', () => {
  it('the manifest key yields the published Chromium extension ID, so host manifests and policies can name it', () => {
    expect(extensionIdFromKey(EXTENSION_PUBLIC_KEY)).toBe(CHROMIUM_EXTENSION_ID);
  });

  it('the WXT config puts that key into the Chromium manifest, and leaves it out of the Firefox one', async () => {
    const keyFor = async (browser: string): Promise<unknown> => {
      const manifest =
        typeof config.manifest === 'function'
          ? await config.manifest({ browser, manifestVersion: 3, mode: 'production', command: 'build' })
          : config.manifest;
      return manifest && 'key' in manifest ? manifest.key : undefined;
    };
    expect(await keyFor('chrome')).toBe(EXTENSION_PUBLIC_KEY);
    expect(await keyFor('firefox')).toBeUndefined();
  });
});
