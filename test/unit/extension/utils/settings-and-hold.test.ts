import { describe, expect, it } from 'vitest';
import { HELD_SUFFIX } from '@sandgate/shared';
import { computeSettings, pendingVerdictFor } from '../../../../extension/utils/settings.ts';
import { holdSuggestion, startDownloadHold, type FilenameSuggestion } from '../../../../extension/utils/download-hold.ts';
import { buildCaptureRules } from '../../../../extension/utils/capture-rules.ts';

const rulesOf = (s: ReturnType<typeof computeSettings>) => buildCaptureRules({ fileExtensions: s.fileExtensions, mimeTypes: s.mimeTypes });

describe('settings: policy over the person over the defaults', () => {
  it('uses the defaults when nobody chose anything, with nothing locked and notifications on', () => {
    const s = computeSettings(undefined, undefined);
    expect(s.fileExtensions).toContain('exe');
    expect(s.pendingVerdict).toEqual({ default: 'allow', onUnavailable: 'keep' });
    expect(s).toMatchObject({ notifications: true, locked: [] });
  });

  it("the person's file types replace the defaults, but a policy list wins and is locked", () => {
    expect(computeSettings(undefined, { fileExtensions: ['PDF', 'docx'] }).fileExtensions).toEqual(['pdf', 'docx']);
    const s = computeSettings({ fileExtensions: ['exe'] }, { fileExtensions: ['pdf'], notifications: false });
    expect(s.fileExtensions).toEqual(['exe']);
    expect(s.notifications).toBe(false);
    expect(s.locked).toEqual(['fileExtensions']);
  });

  it('invalid input from either source counts as absent', () => {
    expect(computeSettings({ pendingVerdict: { default: 'block' } }, { fileExtensions: ['e x e'] })).toMatchObject({
      locked: [],
      pendingVerdict: { default: 'allow' },
    });
  });

  it('a per-extension pending-verdict mode beats the default', () => {
    const s = computeSettings({ pendingVerdict: { default: 'allow', byExtension: { EXE: 'hold' } } }, undefined);
    expect(pendingVerdictFor(s, 'exe')).toBe('hold');
    expect(pendingVerdictFor(s, 'pdf')).toBe('allow');
    expect(s.locked).toEqual(['pendingVerdict']);
  });
});

describe('hold: the name a download gets', () => {
  const holdExe = computeSettings({ pendingVerdict: { byExtension: { exe: 'hold' }, onUnavailable: 'release' } }, undefined);

  it('an executable policy holds lands under its held name; a PDF, a PNG and an already held name keep theirs', () => {
    expect(holdSuggestion(holdExe, rulesOf(holdExe), { filename: 'setup.exe' }, true)).toEqual({
      filename: `setup.exe${HELD_SUFFIX}`,
      conflictAction: 'uniquify',
    });
    expect(holdSuggestion(holdExe, rulesOf(holdExe), { filename: 'doc.pdf' }, true)).toBeUndefined();
    expect(holdSuggestion(holdExe, rulesOf(holdExe), { filename: 'photo.png' }, true)).toBeUndefined();
    expect(holdSuggestion(holdExe, rulesOf(holdExe), { filename: `setup.exe${HELD_SUFFIX}` }, true)).toBeUndefined();
  });

  it('when no verdict can come, "release" lets it keep its name and "keep" still holds it', () => {
    expect(holdSuggestion(holdExe, rulesOf(holdExe), { filename: 'setup.exe' }, false)).toBeUndefined();
    const keep = computeSettings({ pendingVerdict: { byExtension: { exe: 'hold' }, onUnavailable: 'keep' } }, undefined);
    expect(holdSuggestion(keep, rulesOf(keep), { filename: 'setup.exe' }, false)?.filename).toBe(`setup.exe${HELD_SUFFIX}`);
  });

  it('on a first run the download waits for the policy rather than be published unheld', async () => {
    let listener: ((item: { id: number; filename: string }, suggest: (s?: FilenameSuggestion) => void) => boolean | void) | undefined;
    let settle: (s: ReturnType<typeof computeSettings>) => void = () => {};
    const settled = new Promise<ReturnType<typeof computeSettings>>((r) => (settle = r));
    startDownloadHold({
      event: { addListener: (l) => void (listener = l) },
      settings: () => ({
        settings: computeSettings(undefined, undefined),
        rules: rulesOf(computeSettings(undefined, undefined)),
        known: false,
      }),
      whenSettled: async () => {
        const s = await settled;
        return { settings: s, rules: rulesOf(s) };
      },
      verdictPossible: () => true,
    });
    const suggestions: (FilenameSuggestion | undefined)[] = [];
    expect(listener!({ id: 1, filename: 'setup.exe' }, (s) => suggestions.push(s))).toBe(true);
    expect(suggestions).toEqual([]);
    settle(holdExe);
    await settled;
    await Promise.resolve();
    expect(suggestions).toEqual([{ filename: `setup.exe${HELD_SUFFIX}`, conflictAction: 'uniquify' }]);
  });
});
