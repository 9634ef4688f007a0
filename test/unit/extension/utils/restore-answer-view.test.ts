import { describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { renderPopup } from '../../../../extension/utils/popup-view.ts';
import { answerAsRestore, type QuarantineView } from '../../../../extension/utils/quarantine-view.ts';
import type { JobRecord } from '../../../../extension/utils/job-record.ts';
import { englishTranslate } from '../helpers/translate.ts';

const at = '2026-12-07T09:00:00.000Z';
const QID = 'c'.repeat(32);
const root = () => parseHTML('<!doctype html><html><body><main id="app"></main></body></html>').document.getElementById('app')!;
const record: JobRecord = {
  incognito: false,
  submitted: true,
  capturedAt: at,
  updatedAt: at,
  downloadId: 2,
  path: '/d/eicar.com',
  fileName: 'eicar.com',
  state: 'malicious',
  threat: 'EICAR-Test-File',
  quarantineId: QID,
  actions: [{ type: 'quarantine', status: 'done' }],
};
const view = (answers: QuarantineView['answers']): QuarantineView => ({
  items: [{ id: QID, originalPath: '/d/eicar.com', sha256: 'a'.repeat(64), size: 68, level: 'malicious', quarantinedAt: at }],
  usersMayRestore: false,
  at,
  requested: [QID],
  answers,
});

function show(answer: QuarantineView['answers'][number]) {
  const r = root();
  const restore = answerAsRestore(answer);
  renderPopup(
    r,
    { records: [{ ...record, ...(restore ? { restore } : {}) }], agent: undefined, quarantine: view([answer]) },
    englishTranslate(),
  );
  return r;
}

// The administrator's answer to "Ask for restore" (issue 17), as the person reads it in the popup.
describe('popup: the answer to a restore request', () => {
  it("declined: the reason in the administrator's words, and the person may ask again", () => {
    const r = show({ quarantineId: QID, state: 'declined', reason: 'This really is malware.', at });
    expect(r.querySelector('[data-download-id="2"] .restore-outcome')?.textContent).toBe(
      'Your administrator declined: This really is malware.',
    );
    expect(r.querySelector('[data-download-id="2"] button.restore')?.textContent).toBe('Ask for restore');
    expect(r.querySelector('li.quarantine-item .restore-declined p')?.textContent).toBe(
      'Your administrator declined: This really is malware.',
    );
  });

  it('approved and restored: "Restored by your administrator", and the download no longer counts as blocked', () => {
    const r = show({ quarantineId: QID, state: 'restored', path: '/d/eicar.com', at });
    expect(r.querySelector('[data-download-id="2"] .restore-outcome')?.textContent).toBe('Restored by your administrator.');
    expect(r.querySelector('[data-download-id="2"] button.restore')).toBeNull();
    expect(r.querySelector<HTMLElement>('[data-download-id="2"]')?.dataset['status']).toBe('ok');
  });

  it('approved, but the workstation refused the restore: the refusal, never "restored"', () => {
    const r = show({ quarantineId: QID, state: 'refused', code: 'RESTORE_TARGET_EXISTS', message: 'a file is there now', at });
    const text = r.querySelector('[data-download-id="2"] .restore-outcome')?.textContent ?? '';
    expect(text).toBe('Your administrator approved the restore, but this computer refused it: RESTORE_TARGET_EXISTS: a file is there now');
    expect(r.textContent).not.toContain('Restored by');
    expect(r.querySelector<HTMLElement>('[data-download-id="2"]')?.dataset['status']).toBe('blocked');
  });

  it('approved, restore not run yet: says it is on its way, offers no second ask', () => {
    const r = show({ quarantineId: QID, state: 'approved', at });
    expect(r.querySelector('[data-download-id="2"] .restore-outcome')?.textContent).toBe(
      'Your administrator approved the restore. It will be back shortly.',
    );
    expect(r.querySelector('button.restore')).toBeNull();
  });
});
