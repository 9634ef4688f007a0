import { browser } from 'wxt/browser';
import { parseAgentStatus } from '../../utils/agent-status-store.ts';
import { JobStore } from '../../utils/job-store.ts';
import { renderPopup } from '../../utils/popup-view.ts';
import type { PopupMessage } from '../../utils/popup-messages.ts';
import { parseQuarantineView } from '../../utils/quarantine-view.ts';
import { AGENT_KEY, JOBS_KEY, QUARANTINE_KEY, THREATS_SEEN_KEY } from '../../utils/storage-keys.ts';
import type { Translate } from '../../utils/i18n.ts';

const t: Translate = (key, substitutions) => browser.i18n.getMessage(key, substitutions);
const root = document.getElementById('app');
const store = new JobStore(browser.storage.local);
const ask = (message: PopupMessage): Promise<unknown> => browser.runtime.sendMessage(message).catch(() => undefined);

async function existingFiles(ids: number[]): Promise<Set<number>> {
  const found = await Promise.all(
    ids.map((id) =>
      browser.downloads.search({ id }).then(
        (items) => items[0],
        () => undefined,
      ),
    ),
  );
  return new Set(found.filter((d) => d?.exists === true && d.state === 'complete').map((d) => d!.id));
}

async function render(): Promise<void> {
  if (!root) return;
  const [records, stored] = await Promise.all([store.list(), browser.storage.local.get([AGENT_KEY, QUARANTINE_KEY])]);
  const existing = await existingFiles(records.map((r) => r.downloadId));
  // Keep keyboard focus on the same element across re-renders, so a storage change does not throw the person out.
  const focused = document.activeElement instanceof HTMLElement ? focusKey(document.activeElement) : undefined;
  // A "Details" the person opened stays open across re-renders.
  const opened = Array.from(
    root.querySelectorAll<HTMLElement>('li[data-download-id]:has(> details[open])'),
    (li) => li.dataset['downloadId'],
  );
  renderPopup(
    root,
    { records, agent: parseAgentStatus(stored[AGENT_KEY]), quarantine: parseQuarantineView(stored[QUARANTINE_KEY]), existing },
    t,
    {
      show: (downloadId) => void browser.downloads.show(downloadId),
      restore: (quarantineId) => void ask({ type: 'sandgate.restore', quarantineId }),
    },
  );
  for (const id of opened) root.querySelector<HTMLDetailsElement>(`li[data-download-id="${id}"] > details`)?.setAttribute('open', '');
  if (focused) root.querySelector<HTMLElement>(focused)?.focus();
  root.setAttribute('aria-busy', 'false');
}

function focusKey(node: HTMLElement): string | undefined {
  const li = node.closest<HTMLElement>('[data-download-id],[data-quarantine-id]');
  if (!li) return undefined;
  const attr =
    li.dataset['downloadId'] !== undefined
      ? `[data-download-id="${li.dataset['downloadId']}"]`
      : `li[data-quarantine-id="${li.dataset['quarantineId']}"]`;
  return node === li ? attr : `${attr} button.${node.className.split(' ')[0] ?? ''}`;
}

document.title = t('popupTitle');
void render();
void ask({ type: 'sandgate.refresh-quarantine' });
// Opening the popup is the person seeing the threats: the badge stops being red.
void browser.storage.local.set({ [THREATS_SEEN_KEY]: new Date().toISOString() });
browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && (JOBS_KEY in changes || AGENT_KEY in changes || QUARANTINE_KEY in changes)) void render();
});
