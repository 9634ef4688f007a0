import { z } from 'zod';

/**
 * The slice of `runtime.Port` the host client uses. Structural, so the real port (Chromium, Firefox, the polyfill)
 * and a test double both fit without casts.
 */
export interface NativePort {
  postMessage(message: unknown): void;
  disconnect(): void;
  onMessage: { addListener(listener: (message: unknown) => void): void };
  onDisconnect: { addListener(listener: (port: unknown) => void): void };
}

export type ConnectNative = (hostName: string) => NativePort;

const portErrorSchema = z.object({ error: z.object({ message: z.string() }) });

/** Firefox reports why a port closed on `port.error`; Chromium sets `runtime.lastError` instead. */
export function portErrorMessage(port: unknown): string | undefined {
  const parsed = portErrorSchema.safeParse(port);
  return parsed.success ? parsed.data.error.message : undefined;
}
