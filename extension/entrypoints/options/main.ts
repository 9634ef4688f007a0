import { browser } from 'wxt/browser';
import { renderOptions } from '../../utils/options-view.ts';
import { computeSettings } from '../../utils/settings.ts';
import { USER_SETTINGS_KEY } from '../../utils/storage-keys.ts';
import type { Translate } from '../../utils/i18n.ts';

const t: Translate = (key, substitutions) => browser.i18n.getMessage(key, substitutions);
const root = document.getElementById('app');

async function render(): Promise<void> {
  if (!root) return;
  // Firefox rejects when no managed storage is configured: that is "no policy".
  const [managed, local] = await Promise.all([
    browser.storage.managed.get('capture').catch(() => ({}) as Record<string, unknown>),
    browser.storage.local.get(USER_SETTINGS_KEY),
  ]);
  renderOptions(root, computeSettings(managed['capture'], local[USER_SETTINGS_KEY]), t, {
    save: (choices) => void browser.storage.local.set({ [USER_SETTINGS_KEY]: choices }),
    reset: () => void browser.storage.local.remove(USER_SETTINGS_KEY).then(render),
  });
  root.setAttribute('aria-busy', 'false');
}

document.title = t('optionsTitle');
void render();
