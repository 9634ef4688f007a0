/**
 * The agent ↔ console protocol (`console/PROTOCOL.md`). Paths are versioned (`/agent/v1/...`); fields are append-only
 * within a version, as in the native-messaging protocol.
 */
export const CONSOLE_PROTOCOL_VERSION = 1;

/** Agent API paths, relative to the console URL the agent enrolled with. @since 1 */
export const AGENT_API = {
  /** GET, no client certificate: the console CA certificate (PEM), for the agent to pin before it sends a token. */
  ca: '/agent/v1/ca',
  /** POST, no client certificate: a one-time token and a CSR in, a client certificate out. */
  enroll: '/agent/v1/enroll',
  /** POST, mutual TLS. */
  heartbeat: '/agent/v1/heartbeat',
  /** POST, mutual TLS. */
  events: '/agent/v1/events',
  /** GET, mutual TLS, long-poll: answers at once when something is new, otherwise after `waitMs`. */
  poll: '/agent/v1/poll',
  /** POST, mutual TLS: how a group task is doing on this workstation (`taskProgressSchema`). @since 1 (group actions) */
  taskProgress: '/agent/v1/task-progress',
  /** POST, mutual TLS: what became of a `restore` message on this workstation (`restoreProgressSchema`). @since 1 (restore) */
  restoreProgress: '/agent/v1/restore-progress',
  /**
   * POST, mutual TLS with the agent's current, valid certificate: a CSR for a fresh key in, a new client certificate
   * out (`renewRequestSchema`). From the answer on, only the new certificate is accepted. @since 1 (renewal)
   */
  renew: '/agent/v1/renew',
} as const;
