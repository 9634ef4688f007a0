import { defineConfig } from 'wxt';
import { EXTENSION_PUBLIC_KEY, FIREFOX_EXTENSION_ID } from '@sandgate/shared';

export default defineConfig({
  modules: ['@wxt-dev/webextension-polyfill'],
  manifestVersion: 3,
  manifest: {
    name: '__MSG_extName__',
    description: '__MSG_extDescription__',
    default_locale: 'en',
    key: EXTENSION_PUBLIC_KEY,
    permissions: ['downloads', 'nativeMessaging', 'storage', 'notifications'],
    storage: { managed_schema: 'managed-schema.json' },
    browser_specific_settings: { gecko: { id: FIREFOX_EXTENSION_ID, strict_min_version: '128.0' } },
  },
});
