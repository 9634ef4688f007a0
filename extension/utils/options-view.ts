import type { MessageKey, Translate } from './i18n.ts';
import type { EffectiveSettings, SettingKey, UserSettings } from './settings.ts';

export type ExtensionsInput = { ok: true; extensions: string[] } | { ok: false; invalid: string };

/** "exe, .MSI pdf" → ['exe', 'msi', 'pdf']; the first token that is no extension is reported instead. */
export function parseExtensionsInput(text: string): ExtensionsInput {
  const tokens = text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const out: string[] = [];
  for (const token of tokens) {
    const ext = token.replace(/^\.+/, '').toLowerCase();
    if (!/^[a-z0-9]{1,16}$/.test(ext)) return { ok: false, invalid: token };
    if (!out.includes(ext)) out.push(ext);
  }
  return { ok: true, extensions: out };
}

export interface OptionsActions {
  save(choices: UserSettings): void;
  reset(): void;
}

/**
 * The options page: what the person may choose (file types, notifications), and what enterprise policy fixed shown
 * disabled with "Set by your administrator" (announced through aria-describedby). The pending-verdict policy is an
 * administrator's decision only, so it is shown, never editable.
 */
export function renderOptions(root: HTMLElement, settings: EffectiveSettings, t: Translate, actions?: OptionsActions): void {
  const doc = root.ownerDocument;
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] => {
    const node = doc.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  };
  const locked = (key: SettingKey): boolean => settings.locked.includes(key);
  const lockNote = (key: SettingKey): HTMLElement => {
    const note = el('span', t('optionsLocked'), 'locked');
    note.id = `locked-${key}`;
    return note;
  };

  root.replaceChildren();
  root.append(el('h1', t('optionsTitle')));
  const form = el('form');
  form.noValidate = true;

  const capture = el('fieldset');
  capture.append(el('legend', t('optionsCaptureHeading')));
  const extLabel = el('label', t('optionsFileExtensions'));
  extLabel.htmlFor = 'file-extensions';
  const ext = el('input');
  ext.id = 'file-extensions';
  ext.name = 'fileExtensions';
  ext.type = 'text';
  ext.value = settings.fileExtensions.join(', ');
  const help = el('p', t('optionsFileExtensionsHelp'), 'help');
  help.id = 'file-extensions-help';
  const describedBy = [help.id];
  capture.append(extLabel, ext, help);
  if (locked('fileExtensions')) {
    ext.disabled = true;
    capture.append(lockNote('fileExtensions'));
    describedBy.push('locked-fileExtensions');
  }
  ext.setAttribute('aria-describedby', describedBy.join(' '));

  capture.append(el('p', t('optionsMimeTypes'), 'label'));
  const mimes = el('p', settings.mimeTypes.join(', '), 'mime-types');
  mimes.id = 'mime-types';
  capture.append(mimes);
  if (locked('mimeTypes')) capture.append(lockNote('mimeTypes'));

  const pv = settings.pendingVerdict;
  const mode = (m: 'allow' | 'hold'): string => t(m === 'hold' ? 'pendingHold' : 'pendingAllow');
  capture.append(el('p', t('optionsPendingVerdict'), 'label'));
  const pending = el('ul', undefined, 'pending-verdict');
  pending.id = 'pending-verdict';
  pending.append(el('li', t('optionsPendingDefault', [mode(pv.default)])));
  for (const [k, v] of Object.entries(pv.byExtension ?? {})) pending.append(el('li', t('optionsPendingByExtension', [k, mode(v)])));
  pending.append(el('li', t('optionsPendingUnavailable', [t(pv.onUnavailable === 'release' ? 'pendingRelease' : 'pendingKeep')])));
  capture.append(pending);
  if (locked('pendingVerdict')) capture.append(lockNote('pendingVerdict'));
  form.append(capture);

  const notes = el('fieldset');
  notes.append(el('legend', t('optionsNotificationsHeading')));
  const box = el('input');
  box.type = 'checkbox';
  box.id = 'notifications';
  box.name = 'notifications';
  box.checked = settings.notifications;
  const boxLabel = el('label', t('optionsNotifications'));
  boxLabel.htmlFor = box.id;
  notes.append(box, boxLabel);
  form.append(notes);

  const status = el('p', '', 'status');
  status.id = 'options-status';
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  const save = el('button', t('optionsSave'), 'save');
  save.type = 'submit';
  const reset = el('button', t('optionsReset'), 'reset');
  reset.type = 'button';
  form.append(save, reset, status);
  root.append(form);

  const say = (key: MessageKey, subs?: string[]): void => {
    status.textContent = t(key, subs);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const choices: UserSettings = { notifications: box.checked };
    if (!locked('fileExtensions')) {
      const parsed = parseExtensionsInput(ext.value);
      if (!parsed.ok) {
        ext.setAttribute('aria-invalid', 'true');
        say('optionsInvalidExtensions', [parsed.invalid]);
        ext.focus();
        return;
      }
      ext.removeAttribute('aria-invalid');
      choices.fileExtensions = parsed.extensions;
    }
    actions?.save(choices);
    say('optionsSaved');
  });
  reset.addEventListener('click', () => {
    actions?.reset();
    say('optionsSaved');
  });
}
