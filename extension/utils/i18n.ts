/** Every message the extension shows; a unit test keeps this list and `_locales/en/messages.json` in step. */
export const MESSAGE_KEYS = [
  'extName', 'extDescription', 'popupTitle', 'agentLabel', 'agentConnecting', 'agentConnected', 'agentNotInstalled',
  'agentNotRunning', 'agentIncompatible', 'agentQueueFull', 'agentServersUnreachable', 'recentDownloads', 'noDownloads',
  'stateQueued', 'stateWaiting', 'stateAnalysing', 'stateClean', 'stateSuspicious', 'stateMalicious', 'stateUnknown',
  'stateError', 'fieldState', 'fieldThreat', 'fieldServer', 'fieldActions', 'fieldError', 'actionQuarantine',
  'actionCriticalAreasScan', 'actionIocScan', 'actionStatus', 'actionStatusDone', 'actionStatusScheduled',
  'actionStatusSkipped', 'actionStatusFailed', 'unnamedThreat', 'notifyThreatTitle', 'notifyQuarantined',
  'notifyQuarantineFailed', 'notifyNotQuarantined', 'badgeTitleAnalysing', 'badgeTitleThreat', 'badgeTitleIdle',
] as const;
export type MessageKey = (typeof MESSAGE_KEYS)[number];

/** `browser.i18n.getMessage`, injected so modules can be tested with the real message file. */
export type Translate = (key: MessageKey, substitutions?: string[]) => string;
