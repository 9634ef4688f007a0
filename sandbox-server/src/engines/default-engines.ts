import { join } from 'node:path';
import type { Logger } from '../log.ts';
import { createEicarEngine } from './eicar.ts';
import type { Engine } from './engine.ts';
import { createFileTypeEngine } from './file-type.ts';
import { createHashBlocklistEngine } from './hash-blocklist.ts';
import { createYaraEngine, loadYaraBinding } from './yara-rules.ts';

/** The lab's engines in verdict order: the first engine that reaches the top level names the threat. */
export function defaultEngines(opts: { dataDir: string; log: Logger; yaraMaxScanBytes?: number }): Engine[] {
  const engines: Engine[] = [
    createEicarEngine(),
    createHashBlocklistEngine({ path: join(opts.dataDir, 'blocklist.txt'), log: opts.log.child('blocklist') }),
  ];
  if (loadYaraBinding()) {
    engines.push(
      createYaraEngine({
        rulesDir: join(opts.dataDir, 'rules'),
        log: opts.log.child('yara'),
        ...(opts.yaraMaxScanBytes !== undefined ? { maxScanBytes: opts.yaraMaxScanBytes } : {}),
      }),
    );
  } else {
    opts.log.warn('YARA-X binding unavailable; administrator rules are disabled');
  }
  engines.push(createFileTypeEngine());
  return engines;
}
