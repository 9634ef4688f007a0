/** Hard cap of a host → browser native message, set by Chromium and Firefox alike (1 MiB). */
export const MAX_HOST_MESSAGE_BYTES = 1024 * 1024;

/**
 * Cap of a browser → host message we accept. Browsers allow far more (64 MiB to 4 GiB), but our requests carry paths
 * and provenance, never file bytes, so anything larger is garbage or an attack and is refused before it is buffered.
 */
export const MAX_BROWSER_MESSAGE_BYTES = 64 * 1024;

/** Cap of one IPC frame between the bridge, the CLI and the agent service. */
export const MAX_IPC_MESSAGE_BYTES = MAX_HOST_MESSAGE_BYTES;

/** Longest URL we keep in provenance; longer ones are truncated by the extension (data: URLs can be megabytes). */
export const MAX_URL_CHARS = 8192;
