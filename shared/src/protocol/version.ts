/** The native-messaging / IPC protocol version this build speaks. Independent of the app version. */
export const PROTOCOL_VERSION = 1;
/** The oldest protocol version this build still accepts from a peer. */
export const MIN_PROTOCOL_VERSION = 1;

/**
 * Capabilities a peer may announce in `hello`. Features are gated on these, never on version numbers.
 * Append only; never rename or reuse one.
 */
export const CAPABILITIES = [
  'submit-download', // the agent accepts captured downloads
  'verdict-push', // the agent pushes `job-update` events with verdicts and actions
  'status', // the agent answers `get-status`
  'quarantine', // the agent runs the quarantine response
  'idle-report', // the agent takes `report-idle` (screen locked or not) for IOC scan tasks that run when idle
  'hold-landed', // the agent holds a download in place where the browser cannot name it before it lands (Firefox): `submit-download` with `hold`
] as const;
export type Capability = (typeof CAPABILITIES)[number];
