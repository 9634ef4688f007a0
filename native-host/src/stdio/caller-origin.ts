import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, SandgateError } from '@sandgate/shared';

/**
 * The bridge's command line: our own flags first (written by the launcher), then whatever the browser appends.
 *   Chromium: `chrome-extension://<id>/` [--parent-window=<hwnd> on Windows]
 *   Firefox:  <absolute path of the host manifest> <add-on id>
 */
export interface BridgeArgs {
  /** Origins (`chrome-extension://<id>/`), bare Chromium IDs, or Firefox add-on IDs allowed to use this host. */
  allow: string[];
  policyPath?: string;
  /** The arguments the browser passed. */
  browserArgs: string[];
}

export function parseBridgeArgs(argv: readonly string[]): BridgeArgs {
  const allow: string[] = [];
  let policyPath: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--allow-origin' || a === '--policy') {
      const value = argv[i + 1];
      if (value === undefined) throw new SandgateError('USAGE', `${a} needs a value`);
      if (a === '--allow-origin') allow.push(value);
      else policyPath = value;
      i++;
    } else if (a === '--') {
      i++;
      break;
    } else {
      break;
    }
  }
  return { allow, ...(policyPath ? { policyPath } : {}), browserArgs: argv.slice(i) };
}

const CHROMIUM_ORIGIN = /^chrome-extension:\/\/([a-p]{32})\/?$/;
const CHROMIUM_ID = /^[a-p]{32}$/;

export type Caller = { kind: 'chromium'; id: string } | { kind: 'firefox'; id: string } | { kind: 'unknown'; raw: string };

/** Who launched us, from the browser's arguments. */
export function identifyCaller(browserArgs: readonly string[]): Caller {
  const first = browserArgs[0] ?? '';
  const m = CHROMIUM_ORIGIN.exec(first);
  if (m) return { kind: 'chromium', id: m[1]! };
  // Firefox passes the manifest path first; the add-on id second (Firefox 55+).
  if (browserArgs.length >= 2 && /\.json$/i.test(first)) return { kind: 'firefox', id: browserArgs[1]! };
  return { kind: 'unknown', raw: first.slice(0, 200) };
}

/**
 * Whether the caller is one this host was installed for. Without any `--allow-origin` (someone running the host by
 * hand) only the official Sandgate extension IDs are accepted.
 */
export function isCallerAllowed(caller: Caller, allow: readonly string[]): boolean {
  const list = allow.length ? allow : [CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID];
  if (caller.kind === 'unknown') return false;
  for (const entry of list) {
    if (caller.kind === 'chromium') {
      const m = CHROMIUM_ORIGIN.exec(entry);
      const id = m ? m[1] : CHROMIUM_ID.test(entry) ? entry : undefined;
      if (id === caller.id) return true;
    } else if (entry === caller.id) {
      return true;
    }
  }
  return false;
}
