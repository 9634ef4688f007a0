/**
 * Timings of the console channel that an operator (or a test) may tighten through the environment:
 * `SANDGATE_CONSOLE_HEARTBEAT_MS` (default 30000) and `SANDGATE_CONSOLE_RETRY_MAX_MS` (default 60000).
 * Values that are not positive integers are ignored.
 */
export function consoleTuningFromEnv(env: NodeJS.ProcessEnv): { heartbeatMs?: number; retryMaxMs?: number } {
  const num = (v: string | undefined) => {
    const n = Number(v);
    return v && Number.isInteger(n) && n > 0 ? n : undefined;
  };
  const heartbeatMs = num(env.SANDGATE_CONSOLE_HEARTBEAT_MS);
  const retryMaxMs = num(env.SANDGATE_CONSOLE_RETRY_MAX_MS);
  return { ...(heartbeatMs ? { heartbeatMs } : {}), ...(retryMaxMs ? { retryMaxMs } : {}) };
}
