import { z } from 'zod';

/**
 * What `sandgate install` does, step by step (`install --dry-run --json` prints it; `uninstall` undoes it). Executed
 * on Linux and macOS; on Windows the registry steps are what `reg add` is run with.
 */
/** A Windows registry value the install sets (and the receipt remembers, so uninstall removes exactly it). */
export const registryStepSchema = z.object({
  kind: z.literal('registry'),
  hive: z.enum(['HKCU', 'HKLM']),
  /** Below the hive, e.g. `Software\Google\Chrome\NativeMessagingHosts\org.sandgate.agent`. */
  key: z.string(),
  /** The key's default value (REG_SZ): the absolute path of the manifest. */
  value: z.string(),
  browser: z.string(),
});

export const installStepSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('dir'),
    path: z.string(),
    mode: z.number().int(),
    /** Why this folder is needed (for the dry-run reader). */
    for: z.string(),
  }),
  z.object({
    kind: z.literal('file'),
    path: z.string(),
    /** `manifest` (a native-messaging host manifest) or `launcher` (what the manifest's `path` names). */
    role: z.enum(['manifest', 'launcher']),
    /** The browser a manifest is for; absent on the launcher. */
    browser: z.string().optional(),
    mode: z.number().int(),
    content: z.string(),
  }),
  registryStepSchema,
]);
export type InstallStep = z.infer<typeof installStepSchema>;

export const installPlanSchema = z.object({
  os: z.enum(['linux', 'darwin', 'win32']),
  scope: z.enum(['user', 'system']),
  launcher: z.string(),
  steps: z.array(installStepSchema),
  /** Things not done, and why (a browser skipped for --profile-dir, a secondary folder whose parent is missing). */
  notes: z.array(z.string()),
});
export type InstallPlan = z.infer<typeof installPlanSchema>;
