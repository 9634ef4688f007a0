import type { Policy } from '@sandgate/shared';
import { criticalAreasScanAction } from './critical-areas-scan-action.ts';
import { iocScanAction } from './ioc-scan-action.ts';
import { quarantineAction } from './quarantine-action.ts';
import type { ResponseAction } from './response-action.ts';

/** Every response action, in the order they run after a threat: contain first, then look around. */
export const RESPONSE_ACTIONS: readonly ResponseAction[] = [quarantineAction, criticalAreasScanAction, iocScanAction];

export function actionsFor(policy: Policy): ResponseAction[] {
  return RESPONSE_ACTIONS.filter((a) => a.enabled(policy));
}
