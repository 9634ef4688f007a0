import { readFile } from 'node:fs/promises';
import { quarantinePolicySchema } from '@sandgate/shared';
import { findPolicyFile } from '../config/load-policy.ts';

/**
 * `quarantine.usersMayRestore` read from the policy file the agent would use, each time it is asked, so a change an
 * administrator makes applies to the next request. Anything unreadable or invalid means false: the safe answer.
 */
export function policyUsersMayRestore(home: string, env: NodeJS.ProcessEnv = process.env): () => Promise<boolean> {
  return async () => {
    try {
      const raw = JSON.parse(await readFile(findPolicyFile({ home, env }), 'utf8')) as { quarantine?: unknown };
      const parsed = quarantinePolicySchema.safeParse(raw.quarantine ?? {});
      return parsed.success && parsed.data.usersMayRestore;
    } catch {
      return false;
    }
  };
}
