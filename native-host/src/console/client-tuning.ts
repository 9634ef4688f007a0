/**
 * Timings of the console channel that an operator (or a test) may tighten through the environment:
 * `SANDGATE_CONSOLE_HEARTBEAT_MS` (default 30000), `SANDGATE_CONSOLE_RETRY_MAX_MS` (default 60000) and
 * `SANDGATE_CONSOLE_RENEW_CHECK_MS` (default 3600000: how often certificate expiry is looked at) and
 * `SANDGATE_CONSOLE_POLL_WAIT_MS` (default 25000: how long the console may hold a poll).
 * Values that are not positive integers are ignored.
 */
export function consoleTuningFromEnv(env: NodeJS.ProcessEnv): {
  heartbeatMs?: number;
  retryMaxMs?: number;
  renewCheckMs?: number;
  pollWaitMs?: number;
} {
  const num = (v: string | undefined) => {
    const n = Number(v);
    return v && Number.isInteger(n) && n > 0 ? n : undefined;
  };
  const heartbeatMs = num(env.SANDGATE_CONSOLE_HEARTBEAT_MS);
  const retryMaxMs = num(env.SANDGATE_CONSOLE_RETRY_MAX_MS);
  const renewCheckMs = num(env.SANDGATE_CONSOLE_RENEW_CHECK_MS);
  const pollWaitMs = num(env.SANDGATE_CONSOLE_POLL_WAIT_MS);
  return {
    ...(heartbeatMs ? { heartbeatMs } : {}),
    ...(retryMaxMs ? { retryMaxMs } : {}),
    ...(renewCheckMs ? { renewCheckMs } : {}),
    ...(pollWaitMs ? { pollWaitMs } : {}),
  };
}
