/**
 * Keys the extension keeps in `browser.storage.local` (documented in extension/README.md; the e2e tier reads them).
 * Storage survives service-worker restarts; module globals do not.
 */
/** `Record<downloadId, JobRecord>`, bounded to the {@link MAX_JOBS} most recent captures. */
export const JOBS_KEY = 'sandgate.jobs';
/** The agent connection as the popup shows it (`AgentStatus`). */
export const AGENT_KEY = 'sandgate.agent';
/** ISO time the person last opened the popup; threats found before it no longer turn the badge red. */
export const THREATS_SEEN_KEY = 'sandgate.threatsSeenAt';
/** What the person chose on the options page (`UserSettings`). */
export const USER_SETTINGS_KEY = 'sandgate.userSettings';
/** The settings in force (`EffectiveSettings`), policy included; also the starting point of the next worker start. */
export const SETTINGS_KEY = 'sandgate.settings';
/** The agent's last answer to `list-quarantine` for this browser (`QuarantineView`). */
export const QUARANTINE_KEY = 'sandgate.quarantine';

export const MAX_JOBS = 200;
