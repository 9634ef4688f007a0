import { defineConfig } from 'wxt';
import { EXTENSION_PUBLIC_KEY, FIREFOX_EXTENSION_ID } from '@sandgate/shared';

export default defineConfig({
  modules: ['@wxt-dev/webextension-polyfill'],
  // Without it, `wxt build -b firefox` emits MV2.
  manifestVersion: 3,
  manifest: ({ browser }) => ({
    name: '__MSG_extName__',
    description: '__MSG_extDescription__',
    default_locale: 'en',
    // Pins the Chromium-family ID (CHROMIUM_EXTENSION_ID) so host manifests and policies can name it. Firefox takes
    // its ID from gecko.id and warns about an unknown `key`, so it is left out there.
    ...(browser === 'firefox' ? {} : { key: EXTENSION_PUBLIC_KEY }),
    permissions: ['downloads', 'nativeMessaging', 'storage', 'notifications', 'idle'],
    storage: { managed_schema: 'managed-schema.json' },
    browser_specific_settings: { gecko: { id: FIREFOX_EXTENSION_ID, strict_min_version: '128.0' } },
  }),
});
