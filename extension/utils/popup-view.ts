import type { AgentStatus } from './agent-connection.ts';
import type { MessageKey, Translate } from './i18n.ts';
import type { JobDisplayState, JobRecord } from './job-record.ts';

const STATE_KEYS: Record<JobDisplayState, MessageKey> = {
  queued: 'stateQueued',
  analysing: 'stateAnalysing',
  clean: 'stateClean',
  suspicious: 'stateSuspicious',
  malicious: 'stateMalicious',
  unknown: 'stateUnknown',
  error: 'stateError',
};

const AGENT_KEYS: Record<AgentStatus['state'], MessageKey> = {
  connecting: 'agentConnecting',
  connected: 'agentConnected',
  'not-installed': 'agentNotInstalled',
  'not-running': 'agentNotRunning',
  incompatible: 'agentIncompatible',
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

export function stateLabel(record: JobRecord, t: Translate): string {
  return record.state === 'queued' && !record.submitted ? t('stateWaiting') : t(STATE_KEYS[record.state]);
}

/**
 * Renders the popup into `root` from plain DOM (no innerHTML: file names and threat names come from outside and
 * must stay text). Every string comes from the message file.
 */
export function renderPopup(root: HTMLElement, model: { records: readonly JobRecord[]; agent: AgentStatus | undefined }, t: Translate): void {
  const doc = root.ownerDocument;
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] => {
    const node = doc.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  };

  root.replaceChildren();
  root.append(el('h1', t('popupTitle')));

  const agent = el('p', undefined, `agent agent-${model.agent?.state ?? 'connecting'}`);
  agent.setAttribute('role', 'status');
  agent.setAttribute('aria-live', 'polite');
  agent.id = 'agent-state';
  agent.append(el('span', `${t('agentLabel')}: `, 'label'), el('span', t(AGENT_KEYS[model.agent?.state ?? 'connecting'])));
  if (model.agent?.state === 'connected' && model.agent.queueFull) agent.append(el('span', ` ${t('agentQueueFull')}`, 'warning'));
  if (model.agent?.state === 'connected' && model.agent.serversReachable === false) agent.append(el('span', ` ${t('agentServersUnreachable')}`, 'warning'));
  root.append(agent);

  const heading = el('h2', t('recentDownloads'));
  heading.id = 'downloads-heading';
  root.append(heading);
  if (model.records.length === 0) {
    root.append(el('p', t('noDownloads'), 'empty'));
    return;
  }
  const list = el('ul', undefined, 'downloads');
  list.setAttribute('aria-labelledby', heading.id);
  for (const record of model.records) list.append(renderRecord(record, t, el));
  root.append(list);
}

type Make = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) => HTMLElementTagNameMap[K];

function renderRecord(record: JobRecord, t: Translate, el: Make): HTMLLIElement {
  const item = el('li', undefined, `download state-${record.state}`);
  // Focusable so keyboard users can walk the list; the label reads the essentials in one go.
  item.tabIndex = 0;
  item.dataset['downloadId'] = String(record.downloadId);
  const state = stateLabel(record, t);
  item.setAttribute('aria-label', [record.fileName, state, record.threat].filter(Boolean).join(', '));
  item.append(el('span', record.fileName, 'file'));
  const fields = el('dl');
  const field = (key: MessageKey, value: string, className: string): void => {
    fields.append(el('dt', t(key)), el('dd', value, className));
  };
  field('fieldState', state, 'state');
  if (record.threat) field('fieldThreat', record.threat, 'threat');
  if (record.server) field('fieldServer', record.server, 'server');
  if (record.actions?.length) {
    const actions = record.actions.map((a) => {
      const name = ACTION_KEYS[a.type] ? t(ACTION_KEYS[a.type]!) : a.type;
      const status = ACTION_STATUS_KEYS[a.status] ? t(ACTION_STATUS_KEYS[a.status]!) : a.status;
      return t('actionStatus', [name, status]);
    });
    field('fieldActions', actions.join('; '), 'actions');
  }
  if (record.state === 'error' && record.error) field('fieldError', `${record.error.code}: ${record.error.message}`, 'error');
  item.append(fields);
  return item;
}
