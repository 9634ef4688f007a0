import { browser } from 'wxt/browser';
import { parseAgentStatus } from '../../utils/agent-status-store.ts';
import { JobStore } from '../../utils/job-store.ts';
import { renderPopup } from '../../utils/popup-view.ts';
import { AGENT_KEY, JOBS_KEY, THREATS_SEEN_KEY } from '../../utils/storage-keys.ts';
import type { Translate } from '../../utils/i18n.ts';

const t: Translate = (key, substitutions) => browser.i18n.getMessage(key, substitutions);
const root = document.getElementById('app');
const store = new JobStore(browser.storage.local);

async function render(): Promise<void> {
  if (!root) return;
  const [records, stored] = await Promise.all([store.list(), browser.storage.local.get(AGENT_KEY)]);
  renderPopup(root, { records, agent: parseAgentStatus(stored[AGENT_KEY]) }, t);
  root.setAttribute('aria-busy', 'false');
}

document.title = t('popupTitle');
void render();
// Opening the popup is the person seeing the threats: the badge stops being red.
void browser.storage.local.set({ [THREATS_SEEN_KEY]: new Date().toISOString() });
browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && (JOBS_KEY in changes || AGENT_KEY in changes)) void render();
});
