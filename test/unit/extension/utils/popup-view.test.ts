import { describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { renderPopup } from '../../../../extension/utils/popup-view.ts';
import type { JobRecord } from '../../../../extension/utils/job-record.ts';
import type { AgentStatus } from '../../../../extension/utils/agent-connection.ts';
import { englishTranslate } from '../helpers/translate.ts';

const at = '2026-11-22T09:00:00.000Z';
const base = { incognito: false, submitted: true, capturedAt: at, updatedAt: at };

function render(records: JobRecord[], agent: AgentStatus | undefined) {
  const { document } = parseHTML('<!doctype html><html><body><main id="app"></main></body></html>');
  const root = document.getElementById('app')!;
  renderPopup(root, { records, agent }, englishTranslate());
  return root;
}

describe('popup', () => {
  it('lists recent downloads with their state, threat, server and actions', () => {
    const root = render(
      [
        {
          ...base,
          downloadId: 2,
          path: '/d/eicar.com',
          fileName: 'eicar.com',
          state: 'malicious',
          threat: 'EICAR-Test-File',
          server: 'https://127.0.0.1:8443',
          actions: [{ type: 'quarantine', status: 'done' }],
        },
        { ...base, downloadId: 1, path: '/d/doc.pdf', fileName: 'doc.pdf', state: 'clean', server: 'https://127.0.0.1:8443' },
        { ...base, downloadId: 3, path: '/d/new.exe', fileName: 'new.exe', state: 'queued', submitted: false },
      ],
      { state: 'connected', since: at },
    );
    const items = [...root.querySelectorAll('li')];
    expect(items.map((li) => li.querySelector('.file')?.textContent)).toEqual(['eicar.com', 'doc.pdf', 'new.exe']);
    expect(items.map((li) => li.querySelector('.state')?.textContent)).toEqual(['Malicious', 'Clean', 'Waiting for the agent']);
    expect(items[0]?.querySelector('.threat')?.textContent).toBe('EICAR-Test-File');
    // The server is there for whoever opens "Details", not in the person's way.
    expect(items[0]?.querySelector('details:not([open]) .server')?.textContent).toBe('https://127.0.0.1:8443');
    expect(items[0]?.querySelector('details summary')?.textContent).toBe('Details');
    expect(items.map((li) => li.dataset['status'])).toEqual(['blocked', 'ok', 'checking']);
    expect(items[0]?.querySelector('.actions')?.textContent).toBe('Quarantine: done');
    expect(items[0]?.getAttribute('aria-label')).toBe('eicar.com, Malicious, EICAR-Test-File');
    expect(items.every((li) => li.getAttribute('tabindex') === '0')).toBe(true);
    // One download still being checked: the banner's icon and headline say so, in plain words.
    expect(root.querySelector<HTMLElement>('[role="status"]')?.dataset['status']).toBe('checking');
    expect(root.querySelector('[role="status"] .headline-text')?.textContent).toBe('Checking…');
    expect(root.querySelector('[role="status"] .status-icon')?.getAttribute('aria-label')).toBe('Checking…');
    expect(root.querySelector('[role="status"] .remedy')).toBeNull();
    expect(root.querySelector('ul')?.getAttribute('aria-labelledby')).toBe(root.querySelector('h2')?.id);
  });

  it('says when the agent is not installed or not running, and when nothing was captured', () => {
    const missing = render([], { state: 'not-installed', since: at });
    expect(missing.querySelector('[role="status"] .title')?.textContent).toBe('Not installed.');
    expect(missing.querySelector('[role="status"] .remedy')?.textContent).toContain('npx sandgate install');
    const root = render([], { state: 'not-running', since: at });
    expect(root.querySelector('[role="status"]')?.textContent).toContain('Not running');
    expect(root.querySelector('.empty')?.textContent).toBe('No downloads captured yet.');
  });

  it('file and threat names from outside stay text, never markup', () => {
    const root = render(
      [{ ...base, downloadId: 9, path: '/d/x', fileName: '<img src=x onerror=alert(1)>.exe', state: 'suspicious', threat: '<b>bold</b>' }],
      undefined,
    );
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('b')).toBeNull();
    expect(root.querySelector('.file')?.textContent).toBe('<img src=x onerror=alert(1)>.exe');
  });
});
