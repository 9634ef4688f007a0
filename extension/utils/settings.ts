import { z } from 'zod';
import {
  DEFAULT_CAPTURE_EXTENSIONS,
  DEFAULT_CAPTURE_MIME_TYPES,
  capturePolicySchema,
  pendingVerdictPolicySchema,
  type PendingVerdictPolicy,
} from '@sandgate/shared';

/** What the person may choose on the options page (`sandgate.userSettings` in storage.local). */
export const userSettingsSchema = z.object({
  /** File-name extensions to capture, replacing the default list. */
  fileExtensions: z
    .array(z.string().regex(/^[a-z0-9]{1,16}$/i))
    .max(500)
    .optional(),
  /** Desktop notifications for threats and for what was done (released, restored). */
  notifications: z.boolean().optional(),
});
export type UserSettings = z.infer<typeof userSettingsSchema>;

/** The keys the options page shows; a key set by enterprise policy is shown locked. */
export const SETTING_KEYS = ['fileExtensions', 'mimeTypes', 'pendingVerdict', 'notifications'] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

export const effectiveSettingsSchema = z.object({
  fileExtensions: z.array(z.string()),
  mimeTypes: z.array(z.string()),
  pendingVerdict: pendingVerdictPolicySchema,
  notifications: z.boolean(),
  /** Keys enterprise policy set: the person cannot change them. */
  locked: z.array(z.enum(SETTING_KEYS)),
});
export type EffectiveSettings = z.infer<typeof effectiveSettingsSchema>;

export const DEFAULT_PENDING_VERDICT: PendingVerdictPolicy = { default: 'allow', onUnavailable: 'keep' };

/**
 * Precedence: enterprise policy over the person's choices over the defaults, key by key. Invalid input from either
 * source counts as absent (Chromium already drops managed values that do not match the schema; Firefox does not).
 */
export function computeSettings(policyRaw: unknown, userRaw: unknown): EffectiveSettings {
  const policy = capturePolicySchema.safeParse(policyRaw ?? {});
  const p = policy.success ? policy.data : {};
  const user = userSettingsSchema.safeParse(userRaw ?? {});
  const u = user.success ? user.data : {};
  const locked: SettingKey[] = [];
  if (p.fileExtensions) locked.push('fileExtensions');
  if (p.mimeTypes) locked.push('mimeTypes');
  if (p.pendingVerdict) locked.push('pendingVerdict');
  return {
    fileExtensions: normaliseExtensions(p.fileExtensions ?? u.fileExtensions ?? DEFAULT_CAPTURE_EXTENSIONS),
    mimeTypes: [...(p.mimeTypes ?? DEFAULT_CAPTURE_MIME_TYPES)],
    pendingVerdict: p.pendingVerdict ?? DEFAULT_PENDING_VERDICT,
    notifications: u.notifications ?? true,
    locked,
  };
}

export function normaliseExtensions(list: readonly string[]): string[] {
  return [...new Set(list.map((e) => e.trim().replace(/^\.+/, '').toLowerCase()).filter(Boolean))];
}

/** `allow` or `hold` for a file-name extension (without the dot); `byExtension` wins over `default`. */
export function pendingVerdictFor(settings: Pick<EffectiveSettings, 'pendingVerdict'>, extension: string | undefined): 'allow' | 'hold' {
  const byExt = settings.pendingVerdict.byExtension;
  if (extension !== undefined && byExt) {
    for (const [k, v] of Object.entries(byExt)) if (k.toLowerCase() === extension) return v;
  }
  return settings.pendingVerdict.default;
}
