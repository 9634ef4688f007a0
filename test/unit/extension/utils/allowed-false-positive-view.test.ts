import { describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { renderPopup } from '../../../../extension/utils/popup-view.ts';
import { threatMessage } from '../../../../extension/utils/threat-notifier.ts';
import type { JobRecord } from '../../../../extension/utils/job-record.ts';
import { englishTranslate } from '../helpers/translate.ts';

// The agent judged a download malicious but the administrator had declared it a false positive
// (`response.allowSha256`): the person is told so, not that it was quarantined or that quarantine was "skipped".

const at = '2026-11-22T09:00:00.000Z';
const base = {
  incognito: false,
  submitted: true,
  capturedAt: at,
  updatedAt: at,
  state: 'malicious' as const,
  threat: 'EICAR-Test-File',
  server: 'https://127.0.0.1:8443',
};
const allowed: JobRecord = {
  ...base,
  downloadId: 1,
  path: '/d/tool.com',
  fileName: 'tool.com',
  actions: [{ type: 'quarantine', status: 'skipped', code: 'ALLOWED_FALSE_POSITIVE' }],
};
const quarantined: JobRecord = {
  ...base,
  downloadId: 2,
  path: '/d/eicar.com',
  fileName: 'eicar.com',
  actions: [{ type: 'quarantine', status: 'done' }],
};

function render(records: JobRecord[]) {
  const { document } = parseHTML('<!doctype html><html><body><main id="app"></main></body></html>');
  const root = document.getElementById('app')!;
  renderPopup(root, { records, agent: { state: 'connected', since: at } }, englishTranslate());
  return root;
}

describe('a known false positive in the extension', () => {
  it('the popup still says malicious, and says the administrator allowed it instead of listing a skipped quarantine', () => {
    const [item, other] = [...render([allowed, quarantined]).querySelectorAll('li')];
    expect(item?.querySelector('.state')?.textContent).toBe('Malicious');
    expect(item?.querySelector('.threat')?.textContent).toBe('EICAR-Test-File');
    expect(item?.querySelector('.actions')?.textContent).toBe('Known false positive (allowed by your administrator)');
    expect(other?.querySelector('.actions')?.textContent).toBe('Quarantine: done');
  });

  it('the notification names the file and the threat and says it was left in place by the administrator', () => {
    const { title, message } = threatMessage(allowed, englishTranslate());
    expect(title).toContain('EICAR-Test-File');
    expect(message).toBe(
      'Known false positive (allowed by your administrator): tool.com was reported as EICAR-Test-File and left in place.',
    );
    expect(threatMessage(quarantined, englishTranslate()).message).toContain('moved to quarantine');
  });

  it('a quarantine skipped for another reason is not mistaken for an allowed false positive', () => {
    const record: JobRecord = { ...allowed, actions: [{ type: 'quarantine', status: 'skipped', code: 'QUARANTINE_FAILED' }] };
    expect(render([record]).querySelector('.actions')?.textContent).toBe('Quarantine: skipped');
    expect(threatMessage(record, englishTranslate()).message).toContain('left in place: do not open it');
  });
});
