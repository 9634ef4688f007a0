/**
 * The most bytes of body the console reads for each route, and how long it waits for them. A declared
 * `Content-Length` over the limit is refused before a byte is read (`413 FRAME_TOO_LARGE`), a chunked body is counted
 * as it arrives, and a body that has not arrived in time is refused (`408 CONSOLE_BODY_TIMEOUT`); the console then
 * closes the connection. Routes read before anyone is authenticated (login, enrollment) get small limits and short
 * waits, so unauthenticated clients cannot make the console hold memory. @since 1 (console hardening)
 */
export const KIB = 1024;
export const MIB = 1024 * KIB;

export interface BodyLimit {
  maxBytes: number;
  timeoutMs: number;
}

export const CONSOLE_BODY_LIMITS = {
  /** A route that takes no body (every GET). */
  none: { maxBytes: 0, timeoutMs: 10_000 },
  /** `POST /api/login`: a name and a password. */
  login: { maxBytes: 4 * KIB, timeoutMs: 10_000 },
  /** `POST /agent/v1/enroll` and `/renew`: a token, a CSR (16 KiB at most) and the host's names. */
  enrollment: { maxBytes: 32 * KIB, timeoutMs: 10_000 },
  /** Any other authenticated call of the web console. */
  adminDefault: { maxBytes: 16 * KIB, timeoutMs: 30_000 },
  /** A group's policy or group actions (allow lists and never-quarantine lists run to thousands of entries). */
  adminPolicy: { maxBytes: 4 * MIB, timeoutMs: 60_000 },
  /** `POST /api/hunts`: an operator's IOC file (256 KiB at most), base64 in JSON. @since 1 (issue 18) */
  hunt: { maxBytes: 1 * MIB, timeoutMs: 60_000 },
  /** An agent's heartbeat. */
  heartbeat: { maxBytes: 64 * KIB, timeoutMs: 30_000 },
  /** An agent's event batch or task and restore progress. */
  agentReport: { maxBytes: 4 * MIB, timeoutMs: 60_000 },
} as const satisfies Record<string, BodyLimit>;
