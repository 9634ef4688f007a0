import { browser } from 'wxt/browser';
import { defineBackground } from 'wxt/utils/define-background';
import { detectBrowserFamily } from '../utils/browser-family.ts';
import { startSandgateBackground } from '../utils/sandgate-background.ts';

export default defineBackground(() => {
  const family = detectBrowserFamily(navigator, import.meta.env.FIREFOX);
  startSandgateBackground({
    downloads: {
      onChanged: browser.downloads.onChanged,
      search: (query) => browser.downloads.search(query),
      // Chromium only, and not in the polyfill's types: the pending-verdict hold needs it (see utils/download-hold.ts).
      onDeterminingFilename: typeof chrome !== 'undefined' ? chrome.downloads?.onDeterminingFilename : undefined,
    },
    storage: browser.storage,
    action: browser.action,
    notifications: browser.notifications,
    runtime: browser.runtime,
    // Firefox's idle API reports only `active` and `idle`, never `locked`; the agent then relies on the OS alone.
    idle: browser.idle,
    connectNative: (name) => browser.runtime.connectNative(name),
    // Chromium explains a closed native port only through lastError, readable inside the onDisconnect listener.
    lastErrorMessage: () => (typeof chrome === 'undefined' ? undefined : chrome.runtime.lastError?.message),
    t: (key, substitutions) => browser.i18n.getMessage(key, substitutions),
    iconUrl: browser.runtime.getURL('/icon/128.png'),
    browserName: family,
    clientName: `sandgate-extension/${browser.runtime.getManifest().version} ${family}`,
  });
});
