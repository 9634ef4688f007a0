import type { ActionType, ResponseAction } from './response-action.ts';
import type { Policy } from '@sandgate/shared';

/**
 * Critical Areas Scan and IOC scan come in later issues. When the policy asks for them the job says so plainly
 * (`skipped`), instead of pretending they ran or silently dropping them.
 */
function notYetAvailable(name: ActionType, label: string, enabled: (p: Policy) => boolean): ResponseAction {
  return {
    name,
    enabled,
    run: async () => ({ type: name, status: 'skipped', message: `${label} is not available in this version of Sandgate` }),
  };
}

export const criticalAreasScanAction = notYetAvailable('critical-areas-scan', 'The Critical Areas Scan', (p) => p.response.criticalAreasScan);
export const iocScanAction = notYetAvailable('ioc-scan', 'The IOC scan', (p) => p.response.iocScan.create);
