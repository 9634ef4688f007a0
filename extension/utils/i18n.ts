/** Every message the extension shows; a unit test keeps this list and `_locales/en/messages.json` in step. */
export const MESSAGE_KEYS = [
  'extName', 'extDescription', 'popupTitle', 'agentLabel', 'agentConnecting', 'agentConnected', 'agentNotInstalled',
  'agentNotRunning', 'agentIncompatible', 'agentQueueFull', 'agentServersUnreachable', 'recentDownloads',
  'noDownloads', 'stateQueued', 'stateWaiting', 'stateQueueFull', 'stateAnalysing', 'stateClean', 'stateSuspicious',
  'stateMalicious', 'stateUnknown', 'stateError', 'fieldState', 'fieldThreat', 'fieldServer', 'fieldActions',
  'fieldError', 'actionQuarantine', 'actionCriticalAreasScan', 'actionIocScan', 'actionStatus', 'actionStatusDone',
  'actionStatusScheduled', 'actionStatusSkipped', 'actionStatusFailed', 'unnamedThreat', 'notifyThreatTitle',
  'notifyQuarantined', 'notifyQuarantineFailed', 'notifyNotQuarantined', 'badgeTitleAnalysing', 'badgeTitleThreat',
  'badgeTitleIdle', 'remedyNotInstalled', 'remedyNotRunning', 'remedyIncompatible', 'remedyServersUnreachable',
  'remedyQueueFull', 'fieldDuration', 'fieldHold', 'fieldRestore', 'fieldWhy', 'fieldWhere', 'fieldWhen',
  'durationSeconds', 'durationMinutes', 'holdHeld', 'holdReleased', 'holdReleasedUnjudged', 'holdReleaseFailed',
  'holdPending', 'holdFailed', 'notifyHoldPendingTitle', 'notifyHoldPending', 'notifyHoldFailedTitle', 'notifyHoldFailed',
  'buttonShow', 'buttonShowLabel', 'buttonRestore', 'buttonRestoreLabel', 'buttonAskRestore',
  'buttonAskRestoreLabel', 'restoreDone', 'restoreRequested', 'restoreFailed', 'quarantineHeading',
  'quarantineUnknown', 'quarantineEmpty', 'quarantineUsersMayRestore', 'quarantineAdminOnly',
  'quarantineReasonVerdict', 'notifyReleasedTitle', 'notifyReleased', 'notifyReleasedUnjudgedTitle',
  'notifyReleasedUnjudged', 'notifyRestoreTitle', 'notifyRestored', 'notifyRestoreRequested', 'notifyRestoreFailed',
  'optionsTitle', 'optionsCaptureHeading', 'optionsFileExtensions', 'optionsFileExtensionsHelp', 'optionsMimeTypes',
  'optionsPendingVerdict', 'optionsPendingDefault', 'optionsPendingByExtension', 'optionsPendingUnavailable',
  'pendingAllow', 'pendingHold', 'pendingKeep', 'pendingRelease', 'optionsNotificationsHeading',
  'optionsNotifications', 'optionsLocked', 'optionsSave', 'optionsSaved', 'optionsReset', 'optionsInvalidExtensions',
  'allowedFalsePositive', 'notifyAllowedFalsePositive',
] as const;
export type MessageKey = (typeof MESSAGE_KEYS)[number];

/** `browser.i18n.getMessage`, injected so modules can be tested with the real message file. */
export type Translate = (key: MessageKey, substitutions?: string[]) => string;
