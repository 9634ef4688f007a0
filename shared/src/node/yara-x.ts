import { createRequire } from 'node:module';
import type { YaraBinding } from '../ioc/yara-x-binding.ts';

// The one loader of the YARA-X binding (`@litko/yara-x`), for sandgate-lab's rule engine and the agent's IOC scans.
// Node-only: exported as `@sandgate/shared/yara-x`, never from the index the extension bundles.

let binding: YaraBinding | null | undefined;
let bindingError = '';

/** Loads the native binding once; null on a platform without a prebuilt binary (see `yaraBindingError`). */
export function loadYaraBinding(): YaraBinding | null {
  if (binding !== undefined) return binding;
  try {
    binding = createRequire(import.meta.url)('@litko/yara-x') as YaraBinding;
  } catch (err) {
    binding = null;
    bindingError = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  }
  return binding;
}

/** Why the binding could not be loaded ('' when it was, or was not tried yet). */
export function yaraBindingError(): string {
  return bindingError;
}

/** Default bound of bytes handed to YARA-X: it scans buffers, not streams, so larger objects are scanned on a prefix. */
export const DEFAULT_YARA_MAX_SCAN_BYTES = 16 * 1024 * 1024;
