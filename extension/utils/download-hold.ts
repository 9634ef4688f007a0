import { HELD_SUFFIX } from '@sandgate/shared';
import { fileExtensionOf, shouldCapture, type CaptureRules } from './capture-rules.ts';
import { baseName } from './download-provenance.ts';
import { pendingVerdictFor, type EffectiveSettings } from './settings.ts';

export interface FilenameSuggestion {
  filename: string;
  conflictAction?: 'uniquify' | 'overwrite' | 'prompt';
}

/** `downloads.onDeterminingFilename` (Chromium family only; Firefox has no such event). */
export interface DeterminingFilenameEvent {
  addListener(
    listener: (
      item: { id: number; filename: string; mime?: string | undefined },
      suggest: (suggestion?: FilenameSuggestion) => void,
    ) => boolean | void,
  ): void;
}

export interface DownloadHoldOptions {
  event: DeterminingFilenameEvent;
  /** Settings now, and whether they can be trusted without waiting (settled, or kept from the previous run). */
  settings: () => { settings: EffectiveSettings; rules: CaptureRules; known: boolean };
  whenSettled: () => Promise<{ settings: EffectiveSettings; rules: CaptureRules }>;
  /** False when no verdict can come now: agent not installed or not running, or no server reachable. */
  verdictPossible: () => boolean;
  warn?: (message: string) => void;
}

/**
 * The name a download gets: its own, or `<name>.sandgate-hold` when `capture.pendingVerdict` says `hold` for its type.
 *
 * Why rename rather than pause or lock: pausing does not stop a small download from landing (toolchain.md §6.3), and
 * the file must land somewhere for the agent to read the very bytes it judges. A held name is decided before the file
 * exists, so there is no moment at which the final name can be opened, no race with the person double-clicking it,
 * and no agent needed for the hold itself (it works while the agent is down). The agent publishes it under its final
 * name after a clean verdict (`release-held`), and a malicious one is quarantined from its held name.
 */
export function holdSuggestion(
  settings: EffectiveSettings,
  rules: CaptureRules,
  item: { filename: string; mime?: string | undefined },
  verdictPossible: boolean,
): FilenameSuggestion | undefined {
  const name = baseName(item.filename);
  if (!name || name.endsWith(HELD_SUFFIX)) return undefined;
  if (!shouldCapture(rules, { filename: name, mime: item.mime })) return undefined;
  if (pendingVerdictFor(settings, fileExtensionOf(name)) !== 'hold') return undefined;
  if (!verdictPossible && settings.pendingVerdict.onUnavailable === 'release') return undefined;
  return { filename: `${name}${HELD_SUFFIX}`, conflictAction: 'uniquify' };
}

export function startDownloadHold(opts: DownloadHoldOptions): void {
  opts.event.addListener((item, suggest) => {
    const now = opts.settings();
    if (now.known) {
      const s = holdSuggestion(now.settings, now.rules, item, opts.verdictPossible());
      if (s) suggest(s);
      return undefined;
    }
    // First run, policy not read yet: the download waits (unseen, under Chromium's temporary name) for the policy
    // rather than risk publishing something the administrator wants held.
    opts.whenSettled().then(
      (settled) => suggest(holdSuggestion(settled.settings, settled.rules, item, opts.verdictPossible())),
      (err: unknown) => {
        opts.warn?.(`hold decision failed: ${err instanceof Error ? err.message : String(err)}`);
        suggest();
      },
    );
    return true;
  });
}
