import type { AgentStatus } from './agent-connection.ts';
import { isAllowedFalsePositive } from './allowed-false-positive.ts';
import type { MessageKey, Translate } from './i18n.ts';
import { ACTIVE_STATES, THREAT_STATES, type JobDisplayState, type JobRecord } from './job-record.ts';
import { answerAsRestore, type QuarantineView } from './quarantine-view.ts';
import { restoreText } from './restore-words.ts';

const STATE_KEYS: Record<JobDisplayState, MessageKey> = {
  queued: 'stateQueued',
  analysing: 'stateAnalysing',
  clean: 'stateClean',
  suspicious: 'stateSuspicious',
  malicious: 'stateMalicious',
  unknown: 'stateUnknown',
  error: 'stateError',
};

const ACTION_KEYS: Record<string, MessageKey> = {
  quarantine: 'actionQuarantine',
  'critical-areas-scan': 'actionCriticalAreasScan',
  'ioc-scan': 'actionIocScan',
};

const ACTION_STATUS_KEYS: Record<string, MessageKey> = {
  done: 'actionStatusDone',
  scheduled: 'actionStatusScheduled',
  skipped: 'actionStatusSkipped',
  failed: 'actionStatusFailed',
};

const HOLD_KEYS: Record<NonNullable<JobRecord['hold']>, MessageKey> = {
  held: 'holdHeld',
  released: 'holdReleased',
  'released-unjudged': 'holdReleasedUnjudged',
  'release-failed': 'holdReleaseFailed',
  pending: 'holdPending',
  'hold-failed': 'holdFailed',
};

export function stateLabel(record: JobRecord, t: Translate): string {
  if (record.state !== 'queued' || record.submitted) return t(STATE_KEYS[record.state]);
  return record.error?.code === 'QUEUE_FULL' ? t('stateQueueFull') : t('stateWaiting');
}

/** The agent banner: what is wrong (if anything) and what to do about it. */
export type AgentCondition = 'connecting' | 'not-installed' | 'not-running' | 'incompatible' | 'servers-unreachable' | 'queue-full' | 'ok';

export function agentConditions(agent: AgentStatus | undefined): AgentCondition[] {
  const state = agent?.state ?? 'connecting';
  if (state !== 'connected') return [state];
  const out: AgentCondition[] = [];
  if (agent?.serversReachable === false) out.push('servers-unreachable');
  if (agent?.queueFull) out.push('queue-full');
  return out.length ? out : ['ok'];
}

const CONDITION_KEYS: Record<AgentCondition, { title: MessageKey; remedy?: MessageKey }> = {
  connecting: { title: 'agentConnecting' },
  ok: { title: 'agentConnected' },
  'not-installed': { title: 'agentNotInstalled', remedy: 'remedyNotInstalled' },
  'not-running': { title: 'agentNotRunning', remedy: 'remedyNotRunning' },
  incompatible: { title: 'agentIncompatible', remedy: 'remedyIncompatible' },
  'servers-unreachable': { title: 'agentServersUnreachable', remedy: 'remedyServersUnreachable' },
  'queue-full': { title: 'agentQueueFull', remedy: 'remedyQueueFull' },
};

/**
 * The one word an employee reads first, as an icon and a headline: all is well (`ok`), something is being looked at
 * (`checking`), a threat was kept from them (`blocked`), or something needs doing (`problem`).
 */
export type PopupStatus = 'ok' | 'checking' | 'blocked' | 'problem';

// Glyphs every default font has (an emoji such as ⛔ shows as an empty box without an emoji font).
const STATUS_ICONS: Record<PopupStatus, string> = { ok: '✓', checking: '…', blocked: '×', problem: '!' };
const STATUS_KEYS: Record<PopupStatus, MessageKey> = {
  ok: 'statusOk',
  checking: 'statusChecking',
  blocked: 'statusBlocked',
  problem: 'statusProblem',
};

/** One download's status: analysing is checking, a threat not given back is blocked, a refusal is a problem. */
export function recordStatus(record: JobRecord): PopupStatus {
  if (record.state === 'error') return 'problem';
  if (ACTIVE_STATES.has(record.state)) return 'checking';
  if (THREAT_STATES.has(record.state)) return record.restore?.outcome === 'restored' ? 'ok' : 'blocked';
  return 'ok';
}

/** The popup's status: the agent's problem first, then anything being checked, then a threat blocked, else ok. */
export function popupStatus(model: Pick<PopupModel, 'agent' | 'records'>): PopupStatus {
  const conditions = agentConditions(model.agent);
  if (conditions.some((c) => CONDITION_KEYS[c].remedy)) return 'problem';
  const statuses = model.records.map(recordStatus);
  if (conditions.includes('connecting') || statuses.includes('checking')) return 'checking';
  if (statuses.includes('blocked')) return 'blocked';
  return 'ok';
}

/** "0.4 s", "12.0 s", "3 min 5 s". */
export function formatDuration(ms: number, t: Translate): string {
  if (ms < 60_000) return t('durationSeconds', [(ms / 1000).toFixed(1)]);
  const s = Math.round(ms / 1000);
  return t('durationMinutes', [String(Math.floor(s / 60)), String(s % 60)]);
}

export interface PopupModel {
  records: readonly JobRecord[];
  agent: AgentStatus | undefined;
  quarantine?: QuarantineView | undefined;
  /** Download ids whose file is on disk now (`downloads.search`); "show in folder" is offered for these only. */
  existing?: ReadonlySet<number>;
}

export interface PopupActions {
  show(downloadId: number): void;
  restore(quarantineId: string): void;
}

type Make = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) => HTMLElementTagNameMap[K];

/**
 * Renders the popup into `root` from plain DOM (no innerHTML: file names and threat names come from outside and
 * must stay text). Every string comes from the message file. Buttons are real `<button>`s, so they take focus and
 * Enter/Space without extra code.
 */
export function renderPopup(root: HTMLElement, model: PopupModel, t: Translate, actions?: PopupActions): void {
  const doc = root.ownerDocument;
  const el: Make = (tag, text, className) => {
    const node = doc.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  };

  root.replaceChildren();
  root.append(el('h1', t('popupTitle')));
  root.append(renderAgent(model, t, el));

  const heading = el('h2', t('recentDownloads'));
  heading.id = 'downloads-heading';
  root.append(heading);
  if (model.records.length === 0) {
    root.append(el('p', t('noDownloads'), 'empty'));
  } else {
    const list = el('ul', undefined, 'downloads');
    list.setAttribute('aria-labelledby', heading.id);
    for (const record of model.records) list.append(renderRecord(record, model, t, el, actions));
    root.append(list);
  }
  renderQuarantine(root, model, t, el, actions);
}

function statusIcon(status: PopupStatus, t: Translate, el: Make): HTMLElement {
  const icon = el('span', STATUS_ICONS[status], `status-icon status-${status}`);
  icon.setAttribute('role', 'img');
  icon.setAttribute('aria-label', t(STATUS_KEYS[status]));
  return icon;
}

/** The banner: the status icon and headline; what is wrong, and what to do about it, only when something is. */
function renderAgent(model: PopupModel, t: Translate, el: Make): HTMLElement {
  const agent = model.agent;
  const conditions = agentConditions(agent);
  const status = popupStatus(model);
  const box = el('section', undefined, `agent agent-${agent?.state ?? 'connecting'}`);
  box.id = 'agent-state';
  box.setAttribute('role', 'status');
  box.setAttribute('aria-live', 'polite');
  box.dataset['conditions'] = conditions.join(' ');
  box.dataset['status'] = status;
  const headline = el('p', undefined, 'headline');
  headline.append(statusIcon(status, t, el), el('span', t(STATUS_KEYS[status]), 'headline-text'));
  box.append(headline);
  for (const c of conditions) {
    const keys = CONDITION_KEYS[c];
    if (!keys.remedy) continue;
    const line = el('p', undefined, `condition condition-${c} problem`);
    line.append(el('span', t(keys.title), 'title'));
    box.append(line, el('p', t(keys.remedy), `remedy remedy-${c}`));
  }
  return box;
}

function restoreButton(
  id: string,
  fileName: string,
  view: QuarantineView | undefined,
  t: Translate,
  el: Make,
  actions?: PopupActions,
): HTMLElement {
  const answer = (view?.answers ?? []).find((a) => a.quarantineId === id);
  const answered = answer ? answerAsRestore(answer) : undefined;
  if (answered && answered.outcome !== 'declined') return el('p', restoreText(answered, t), `restore-answer restore-${answered.outcome}`);
  if (!answered && view?.requested.includes(id)) return el('p', t('restoreRequested'), 'restore-requested');
  const mayRestore = view?.usersMayRestore === true;
  const button = el('button', t(mayRestore ? 'buttonRestore' : 'buttonAskRestore'), 'restore');
  button.type = 'button';
  button.dataset['quarantineId'] = id;
  button.setAttribute('aria-label', t(mayRestore ? 'buttonRestoreLabel' : 'buttonAskRestoreLabel', [fileName]));
  if (actions) button.addEventListener('click', () => actions.restore(id));
  if (!answered) return button;
  // Declined: the reason, and the person may ask again.
  const box = el('div', undefined, 'restore-answer restore-declined');
  box.append(el('p', restoreText(answered, t)), button);
  return box;
}

function renderRecord(record: JobRecord, model: PopupModel, t: Translate, el: Make, actions?: PopupActions): HTMLLIElement {
  const item = el('li', undefined, `download state-${record.state}`);
  // Focusable so keyboard users can walk the list; the label reads the essentials in one go.
  item.tabIndex = 0;
  item.dataset['downloadId'] = String(record.downloadId);
  const state = stateLabel(record, t);
  const hold = record.hold ? t(HOLD_KEYS[record.hold]) : undefined;
  item.setAttribute('aria-label', [record.fileName, state, record.threat, hold].filter(Boolean).join(', '));
  const status = recordStatus(record);
  item.dataset['status'] = status;
  item.append(statusIcon(status, t, el), el('span', record.fileName, 'file'));
  const fields = el('dl');
  const field = (key: MessageKey, value: string, className: string): void => {
    fields.append(el('dt', t(key)), el('dd', value, className));
  };
  field('fieldState', state, 'state');
  if (record.threat) field('fieldThreat', record.threat, 'threat');
  if (isAllowedFalsePositive(record)) {
    // "Quarantine: skipped" would read like a failure; the administrator decided this one.
    field('fieldActions', t('allowedFalsePositive'), 'actions allowed-false-positive');
  } else if (record.actions?.length) {
    const done = record.actions.map((a) => {
      const name = ACTION_KEYS[a.type] ? t(ACTION_KEYS[a.type]!) : a.type;
      const status = ACTION_STATUS_KEYS[a.status] ? t(ACTION_STATUS_KEYS[a.status]!) : a.status;
      return t('actionStatus', [name, status]);
    });
    field('fieldActions', done.join('; '), 'actions');
  }
  if (hold) field('fieldHold', hold, 'hold');
  if (record.restore) field('fieldRestore', restoreText(record.restore, t), `restore-outcome restore-${record.restore.outcome}`);
  if (record.state === 'error' && record.error) field('fieldError', `${record.error.code}: ${record.error.message}`, 'error');
  item.append(fields);

  const buttons = el('div', undefined, 'buttons');
  const quarantined = record.quarantineId !== undefined && record.restore?.outcome !== 'restored';
  if (model.existing?.has(record.downloadId) && !quarantined) {
    const show = el('button', t('buttonShow'), 'show');
    show.type = 'button';
    show.setAttribute('aria-label', t('buttonShowLabel', [record.fileName]));
    if (actions) show.addEventListener('click', () => actions.show(record.downloadId));
    buttons.append(show);
  }
  if (quarantined && record.restore?.outcome !== 'requested' && record.restore?.outcome !== 'approved') {
    const button = restoreButton(record.quarantineId!, record.fileName, model.quarantine, t, el, actions);
    // The record already says what the administrator answered: only the button itself here.
    buttons.append(button.querySelector('button') ?? button);
  }
  if (buttons.childElementCount) item.append(buttons);
  // Which server judged it and how long it took: for whoever asks, not in the person's way.
  if (record.server || record.durationMs !== undefined) {
    const details = el('details', undefined, 'details');
    details.append(el('summary', t('detailsSummary')));
    const more = el('dl');
    if (record.server) more.append(el('dt', t('fieldServer')), el('dd', record.server, 'server'));
    if (record.durationMs !== undefined)
      more.append(el('dt', t('fieldDuration')), el('dd', formatDuration(record.durationMs, t), 'duration'));
    details.append(more);
    item.append(details);
  }
  return item;
}

function renderQuarantine(root: HTMLElement, model: PopupModel, t: Translate, el: Make, actions?: PopupActions): void {
  const view = model.quarantine;
  const heading = el('h2', t('quarantineHeading'));
  heading.id = 'quarantine-heading';
  root.append(heading);
  if (!view) {
    root.append(el('p', t('quarantineUnknown'), 'empty quarantine-unknown'));
    return;
  }
  root.append(el('p', t(view.usersMayRestore ? 'quarantineUsersMayRestore' : 'quarantineAdminOnly'), 'note'));
  if (view.items.length === 0) {
    root.append(el('p', t('quarantineEmpty'), 'empty quarantine-empty'));
    return;
  }
  const list = el('ul', undefined, 'quarantine');
  list.setAttribute('aria-labelledby', heading.id);
  for (const q of view.items) {
    const name = q.originalPath.split(/[\\/]/).pop() || q.originalPath;
    const li = el('li', undefined, 'quarantine-item');
    li.tabIndex = 0;
    li.dataset['quarantineId'] = q.id;
    li.setAttribute('aria-label', [name, q.threat ?? t('unnamedThreat')].join(', '));
    li.append(el('span', name, 'file'));
    const fields = el('dl');
    const field = (key: MessageKey, value: string, className: string): void => {
      fields.append(el('dt', t(key)), el('dd', value, className));
    };
    field('fieldThreat', q.threat ?? t('unnamedThreat'), 'threat');
    field('fieldWhy', q.reason ?? t('quarantineReasonVerdict', [q.level, q.server ?? '']), 'reason');
    field('fieldWhere', q.originalPath, 'path');
    field('fieldWhen', new Date(q.quarantinedAt).toLocaleString(), 'when');
    li.append(fields);
    const buttons = el('div', undefined, 'buttons');
    buttons.append(restoreButton(q.id, name, view, t, el, actions));
    li.append(buttons);
    list.append(li);
  }
  root.append(list);
}
