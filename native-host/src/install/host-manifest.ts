import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, NATIVE_HOST_NAME, SandgateError } from '@sandgate/shared';
import { browserFamily, type Browser } from './browsers.ts';

export interface HostManifest {
  name: string;
  description: string;
  path: string;
  type: 'stdio';
  allowed_origins?: string[];
  allowed_extensions?: string[];
}

const CHROMIUM_ID = /^[a-p]{32}$/;
// Firefox add-on IDs: email-like or a GUID in braces.
const FIREFOX_ID = /^(?:[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+|\{[0-9A-Fa-f-]{36}\})$/;

/** Splits extra extension IDs by family; anything that is neither kind is refused. */
export function partitionExtensionIds(extraIds: readonly string[] = []): { chromium: string[]; firefox: string[] } {
  const chromium = [CHROMIUM_EXTENSION_ID];
  const firefox = [FIREFOX_EXTENSION_ID];
  for (const raw of extraIds) {
    const id = raw.replace(/^chrome-extension:\/\/([a-p]{32})\/?$/, '$1');
    if (CHROMIUM_ID.test(id)) {
      if (!chromium.includes(id)) chromium.push(id);
    } else if (FIREFOX_ID.test(id)) {
      if (!firefox.includes(id)) firefox.push(id);
    } else {
      throw new SandgateError('USAGE', `not a Chromium extension ID or Firefox add-on ID: ${raw}`, { params: { id: raw } });
    }
  }
  return { chromium, firefox };
}

/**
 * The host manifest for one browser. Chromium-family browsers allow exact `chrome-extension://<id>/` origins (no
 * wildcards exist); Firefox allows add-on IDs.
 */
export function buildHostManifest(opts: { browser: Browser; launcherPath: string; extraIds?: readonly string[] }): HostManifest {
  const ids = partitionExtensionIds(opts.extraIds);
  const base = {
    name: NATIVE_HOST_NAME,
    description: 'Sandgate: sends browser downloads to the local Sandgate agent for sandbox analysis',
    path: opts.launcherPath,
    type: 'stdio' as const,
  };
  return browserFamily(opts.browser) === 'firefox'
    ? { ...base, allowed_extensions: ids.firefox }
    : { ...base, allowed_origins: ids.chromium.map((id) => `chrome-extension://${id}/`) };
}
