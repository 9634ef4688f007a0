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

export const MAX_JOBS = 200;
