import { readFile } from 'node:fs/promises';
import { SandgateError, scanPolicySchema } from '@sandgate/shared';
import { findPolicyFile, parsePolicyText } from '../config/load-policy.ts';

export interface ScanSettings {
  cpuBudgetPercent: number;
  maxFileBytes: number;
  /** The policy file the settings came from; undefined when there is none and the defaults apply. */
  policyPath: string | undefined;
}

/**
 * The `scan` section of the effective policy. A scan needs no sandbox server, so with no policy file anywhere the
 * defaults apply; but a policy named explicitly (--policy, $SANDGATE_POLICY) that is missing or invalid is an error,
 * never a reason to fall back.
 */
export async function loadScanSettings(opts: { explicit?: string; home: string; env?: NodeJS.ProcessEnv }): Promise<ScanSettings> {
  let path: string;
  try {
    path = findPolicyFile({
      home: opts.home,
      ...(opts.explicit ? { explicit: opts.explicit } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
  } catch (err) {
    const named = opts.explicit ?? (opts.env ?? process.env).SANDGATE_POLICY;
    if (err instanceof SandgateError && err.code === 'POLICY_NOT_FOUND' && !named)
      return { ...scanPolicySchema.parse({}), policyPath: undefined };
    throw err;
  }
  const policy = parsePolicyText(await readFile(path, 'utf8'), path);
  return { ...policy.scan, policyPath: path };
}
