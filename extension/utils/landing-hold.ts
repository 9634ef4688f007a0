import { HELD_SUFFIX } from '@sandgate/shared';
import { fileExtensionOf, shouldCapture, type CaptureRules } from './capture-rules.ts';
import { baseName } from './download-provenance.ts';
import { pendingVerdictFor, type EffectiveSettings } from './settings.ts';

/**
 * What to do with a download that landed under its final name in a browser that cannot hold it before (Firefox):
 * - `hold`: the agent holds it in place now (`hold-landed`), or as soon as it can be reached (`onUnavailable: keep`);
 * - `release-unjudged`: policy wants it held, but no verdict can come and policy says to let it out (`release`);
 * - `allow`: not held (not captured, or `allow` for its type).
 */
export type LandingHold = 'hold' | 'release-unjudged' | 'allow';

export function landingHoldFor(
  settings: EffectiveSettings,
  rules: CaptureRules,
  item: { filename: string; mime?: string | undefined },
  verdictPossible: boolean,
): LandingHold {
  const name = baseName(item.filename);
  if (!name || name.endsWith(HELD_SUFFIX)) return 'allow';
  if (!shouldCapture(rules, { filename: name, mime: item.mime })) return 'allow';
  if (pendingVerdictFor(settings, fileExtensionOf(name)) !== 'hold') return 'allow';
  if (!verdictPossible && settings.pendingVerdict.onUnavailable === 'release') return 'release-unjudged';
  return 'hold';
}
