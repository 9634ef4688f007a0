import type { ErrorCode } from '@sandgate/shared';
import type { AgentState } from './agent-connection.ts';

export interface DisconnectReason {
  state: AgentState;
  code: ErrorCode;
  message: string;
}

/**
 * Browsers explain a closed native port only in prose. These are the messages that mean "no usable host manifest":
 * Chromium's "Specified native messaging host not found." and "Access to the specified native messaging host is
 * forbidden." (a manifest exists but names another extension), Chromium on Windows "Native messaging host … is not
 * registered.", and Firefox's "No such native application …".
 */
const NOT_INSTALLED = [
  /native messaging host not found/i,
  /native messaging host is forbidden/i,
  /is not registered/i,
  /no such native application/i,
];

export function classifyDisconnect(message: string): DisconnectReason {
  if (NOT_INSTALLED.some((re) => re.test(message))) {
    return { state: 'not-installed', code: 'HOST_NOT_INSTALLED', message };
  }
  return { state: 'not-running', code: 'HOST_DISCONNECTED', message: message || 'The native host disconnected' };
}
