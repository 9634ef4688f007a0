import { readFileSync } from 'node:fs';

/** The version users see (`status`, `hello`): the native-host package's, read once. */
export function appVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (pkg && typeof pkg === 'object' && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // a broken install still runs; it just cannot say which version it is
  }
  return '0.0.0-unknown';
}
