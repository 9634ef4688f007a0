import { describe, expect, it, vi } from 'vitest';
import { parseHTML } from 'linkedom';
import { agentConditions, renderPopup } from '../../../../extension/utils/popup-view.ts';
import { parseExtensionsInput, renderOptions } from '../../../../extension/utils/options-view.ts';
import { computeSettings } from '../../../../extension/utils/settings.ts';
import type { JobRecord } from '../../../../extension/utils/job-record.ts';
import { englishTranslate } from '../helpers/translate.ts';

const at = '2026-11-22T09:00:00.000Z';
const base = { incognito: false, submitted: true, capturedAt: at, updatedAt: at };
const root = () => parseHTML('<!doctype html><html><body><main id="app"></main></body></html>').document.getElementById('app')!;
const QID = 'c'.repeat(32);

describe('popup: the agent banner', () => {
  it('names each problem with its remedy, and says nothing extra when all is well', () => {
    expect(agentConditions({ state: 'connected', since: at })).toEqual(['ok']);
    expect(agentConditions({ state: 'connected', since: at, serversReachable: false, queueFull: true })).toEqual([
      'servers-unreachable',
      'queue-full',
    ]);
    const r = root();
    renderPopup(r, { records: [], agent: { state: 'connected', since: at, serversReachable: false } }, englishTranslate());
    expect(r.querySelector('#agent-state')?.getAttribute('data-conditions')).toBe('servers-unreachable');
    expect(r.querySelector('.remedy-servers-unreachable')?.textContent).toContain('as soon as a server answers');
  });
});

describe('popup: a download row', () => {
  const malicious: JobRecord = {
    ...base,
    downloadId: 2,
    path: '/d/eicar.com',
    fileName: 'eicar.com',
    state: 'malicious',
    threat: 'EICAR-Test-File',
    quarantineId: QID,
    actions: [{ type: 'quarantine', status: 'done' }],
    durationMs: 1400,
  };
  const clean: JobRecord = { ...base, downloadId: 1, path: '/d/doc.pdf', fileName: 'doc.pdf', state: 'clean', durationMs: 75_000 };

  it('shows the time taken, "Show in folder" only for files that exist, and a restore button for a quarantined one', () => {
    const r = root();
    const actions = { show: vi.fn(), restore: vi.fn() };
    renderPopup(r, { records: [malicious, clean], agent: undefined, existing: new Set([1, 2]) }, englishTranslate(), actions);
    expect(r.querySelector('[data-download-id="2"] .duration')?.textContent).toBe('1.4 s');
    expect(r.querySelector('[data-download-id="1"] .duration')?.textContent).toBe('1 min 15 s');
    expect(r.querySelector('[data-download-id="2"] button.show')).toBeNull();
    (r.querySelector('[data-download-id="1"] button.show') as HTMLButtonElement).click();
    expect(actions.show).toHaveBeenCalledWith(1);
    const ask = r.querySelector('[data-download-id="2"] button.restore') as HTMLButtonElement;
    expect(ask.textContent).toBe('Ask for restore');
    expect(ask.getAttribute('aria-label')).toBe('Ask an administrator to restore eicar.com');
    ask.click();
    expect(actions.restore).toHaveBeenCalledWith(QID);
  });

  it('offers "Restore" when policy lets people restore, and says when an administrator was asked', () => {
    const view = {
      items: [
        {
          id: QID,
          originalPath: '/d/eicar.com',
          sha256: 'a'.repeat(64),
          size: 68,
          level: 'malicious',
          quarantinedAt: at,
          threat: 'EICAR-Test-File',
          reason: 'malicious verdict',
        },
      ],
      usersMayRestore: true,
      at,
      requested: [],
      answers: [],
    };
    const r = root();
    renderPopup(r, { records: [malicious], agent: undefined, quarantine: view }, englishTranslate());
    expect(r.querySelector('li.quarantine-item .reason')?.textContent).toBe('malicious verdict');
    expect(r.querySelector('li.quarantine-item button.restore')?.textContent).toBe('Restore');
    const asked = root();
    renderPopup(
      asked,
      {
        records: [{ ...malicious, restore: { outcome: 'requested', at } }],
        agent: undefined,
        quarantine: { ...view, usersMayRestore: false, requested: [QID] },
      },
      englishTranslate(),
    );
    expect(asked.querySelector('[data-download-id="2"] .restore-outcome')?.textContent).toBe('Your administrator was asked to restore it.');
    expect(asked.querySelector('button.restore')).toBeNull();
  });

  it('says a held download cannot be opened yet', () => {
    const r = root();
    renderPopup(r, { records: [{ ...clean, state: 'analysing', hold: 'held' }], agent: undefined }, englishTranslate());
    expect(r.querySelector('.hold')?.textContent).toBe('Held until a clean verdict: it cannot be opened yet.');
    expect(r.querySelector('li')?.getAttribute('aria-label')).toContain('Held until a clean verdict');
  });
});

describe('options page', () => {
  it('shows keys set by policy disabled and marked "Set by your administrator", and saves only what the person may choose', () => {
    const r = root();
    const save = vi.fn();
    renderOptions(
      r,
      computeSettings({ fileExtensions: ['exe'], pendingVerdict: { byExtension: { exe: 'hold' } } }, { notifications: true }),
      englishTranslate(),
      { save, reset: vi.fn() },
    );
    const ext = r.querySelector('#file-extensions') as HTMLInputElement;
    expect(ext.disabled).toBe(true);
    expect(ext.getAttribute('aria-describedby')).toContain('locked-fileExtensions');
    expect(r.querySelector('#locked-fileExtensions')?.textContent).toBe('Set by your administrator');
    expect(r.querySelector('#locked-pendingVerdict')).not.toBeNull();
    expect(r.querySelector('#pending-verdict')?.textContent).toContain('exe: held until a clean verdict');
    (r.querySelector('#notifications') as HTMLInputElement).checked = false;
    r.querySelector('form')!.dispatchEvent(new r.ownerDocument.defaultView!.Event('submit', { cancelable: true }));
    expect(save).toHaveBeenCalledWith({ notifications: false });
  });

  it('reads file types as the person types them, and refuses what is no extension', () => {
    expect(parseExtensionsInput('exe, .MSI pdf;pdf')).toEqual({ ok: true, extensions: ['exe', 'msi', 'pdf'] });
    expect(parseExtensionsInput('exe, my file')).toEqual({ ok: true, extensions: ['exe', 'my', 'file'] });
    expect(parseExtensionsInput('exe, *.bat')).toEqual({ ok: false, invalid: '*.bat' });
  });
});
