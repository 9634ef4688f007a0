import { dpapiKeySource } from './dpapi-key-source.ts';
import { fileKeySource, type KeySource } from './key-source.ts';

/**
 * The key source a home gets unless a caller supplies one: on Windows the DPAPI-wrapped key file (user scope, or
 * machine scope with `SANDGATE_KEY_SCOPE=machine`); elsewhere the 0600 key file. macOS's Keychain source is designed
 * only (docs/decisions.md); macOS uses the 0600 file.
 */
export function platformKeySource(home: string, platform: NodeJS.Platform = process.platform): KeySource {
  return platform === 'win32' ? dpapiKeySource(home) : fileKeySource(home);
}
