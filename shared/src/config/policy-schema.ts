import { z } from 'zod';

/**
 * The policy: one schema for the agent's policy file and (later) the extension's managed storage.
 * Keys mirror PRODUCT.md; defaults live here and nowhere else.
 */

/** `https://host:port` where host is IPv4, `[IPv6]` or a fully qualified domain name. */
const serverUrlSchema = z.string().refine((s) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.search || u.hash) return false;
  const h = u.hostname;
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (ipv4) return ipv4.slice(1).every((o) => Number(o) <= 255);
  if (h.startsWith('[') && h.endsWith(']')) return true;
  // a fully qualified name: at least two labels; `localhost` is accepted for single-machine set-ups
  return h === 'localhost' || /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i.test(h);
}, 'an https:// URL whose host is an IPv4 address, an [IPv6] address or a fully qualified domain name');

export const serverSchema = z.strictObject({
  /** Base URL of the server, e.g. `https://sandbox1.corp.example:8443`. */
  url: serverUrlSchema,
  /** Which API it speaks; `sandgate` is Sandgate's own protocol (sandgate-lab). */
  kind: z.enum(['sandgate', 'cape', 'cuckoo']).default('sandgate'),
  /**
   * API token: `cape` (`Authorization: Token …`), `cuckoo` and `sandgate` (`Authorization: Bearer …`; sandgate-lab
   * prints where its token file is when it starts). Never logged.
   */
  token: z.string().min(1).optional(),
});

export const clientCertificateSchema = z.union([
  z.strictObject({ pfx: z.string().min(1), passphrase: z.string().optional() }),
  z.strictObject({ cert: z.string().min(1), key: z.string().min(1), passphrase: z.string().optional() }),
]);

export const sandboxPolicySchema = z.strictObject({
  /** Servers in order of preference; the next one is tried when one fails. */
  servers: z.array(serverSchema).min(1).max(32),
  /**
   * A path to, or the text of, the PEM certificates the servers are trusted through; nothing else is (never the
   * system's CA store). Each certificate in it is a trust anchor, and it may hold several, concatenated:
   * - a server's own certificate, self-signed or issued by a CA: that exact certificate is accepted, nothing else its
   *   issuer signed (neither the issuer nor the root need be given);
   * - an intermediate CA or a root CA: any certificate it issued (directly, or through intermediates the server sends)
   *   that is in date, meant for a TLS server and names the server.
   * In every case the certificate must name the host of the server's URL in a subjectAltName (a DNS name for a
   * name, an IP address for an IPv4 or IPv6 address; the common name is not used). See docs/sandbox-backends.md.
   */
  serverCertificate: z.string().min(1),
  /** Optional mutual TLS: a PKCS#12 file (`pfx`) or PEM `cert` and `key` paths. */
  clientCertificate: clientCertificateSchema.optional(),
  /** After this many milliseconds without an established connection, the next server is tried. */
  connectTimeoutMs: z.number().int().min(50).max(60_000).default(500),
  /** Size limit of the request-queue folder in bytes (100 MiB). */
  requestQueueMaxBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 4)
    .default(100 * 1024 * 1024),
  /** How long to wait for a verdict after a successful upload before the request is retried. */
  analysisTimeoutMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3600_000)
    .default(15 * 60_000),
  /** Largest single object the agent accepts (bytes); larger ones are refused with OBJECT_OVER_MAX_SIZE. */
  maxObjectBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 ** 4)
    .optional(),
  /** How long a verdict answers a repeated object (same SHA-256) at once, with no upload; 0 turns the cache off. */
  verdictCacheTtlMs: z
    .number()
    .int()
    .min(0)
    .max(90 * 24 * 3600_000)
    .default(24 * 3600_000),
});

export const iocScanPolicySchema = z.strictObject({
  create: z.boolean().default(true),
  scope: z.enum(['critical', 'system']).default('critical'),
  runMode: z.enum(['manual', 'afterThreat', 'idle']).default('afterThreat'),
  onMatch: z
    .strictObject({ quarantine: z.boolean().default(true), criticalAreasScan: z.boolean().default(false) })
    .default({ quarantine: true, criticalAreasScan: false }),
  /** Days a finished task (completed, failed, cancelled) and its results are kept before they are removed. */
  keepResultsDays: z.number().int().min(1).max(3650).default(30),
  /**
   * Folders or files (absolute paths) scanned instead of `scope`: a custom scope, e.g. the users' home folders.
   * Absent: `scope` decides.
   */
  paths: z
    .array(
      z
        .string()
        .min(1)
        .max(4096)
        .refine((p) => p.startsWith('/') || /^[a-z]:[\\/]/i.test(p), 'an absolute path'),
    )
    .min(1)
    .max(64)
    .optional(),
});

export const responsePolicySchema = z.strictObject({
  /** Move a copy to quarantine and delete the object on a malicious verdict. */
  quarantine: z.boolean().default(true),
  /** Run a Critical Areas Scan after a threat, in the background (the job reports it `scheduled` with its task id). */
  criticalAreasScan: z.boolean().default(false),
  /** Create an IOC scan task from the OpenIOC file generated for the verdict (`scheduled` with the task id). */
  iocScan: iocScanPolicySchema.default({
    create: false,
    scope: 'critical',
    runMode: 'afterThreat',
    onMatch: { quarantine: true, criticalAreasScan: false },
    keepResultsDays: 30,
  }),
  /**
   * Known false positives (lower-case SHA-256): still analysed and reported as judged, never acted on (no quarantine,
   * no scans, no IOC task; a `verdict-allowed` event says why). Filled by a console restore with `allow`.
   */
  allowSha256: z
    .array(z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case SHA-256 (64 hex digits)'))
    .max(10_000)
    .default([]),
});

/**
 * Storage limits of the quarantine. Applied after every quarantine and at start-up, oldest items first; reaching them
 * never stops a new quarantine (the newest item is always kept).
 */
export const quarantinePolicySchema = z.strictObject({
  /** Total bytes the quarantine may take on disk (1 GiB). */
  maxBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .max(1024 ** 4)
    .default(1024 ** 3),
  /** Items older than this many days are removed (90, as Microsoft Defender does); 0 keeps items until deleted. */
  maxAgeDays: z.number().int().min(0).max(3650).default(90),
  /**
   * Whether people may restore an item from the extension themselves; when false (the default) their request is
   * recorded as a `restore-requested` event for an administrator.
   */
  usersMayRestore: z.boolean().default(false),
});

/** `capture.pendingVerdict`: see capturePolicySchema. */
export const pendingVerdictModeSchema = z.enum(['allow', 'hold']);
export const pendingVerdictPolicySchema = z.strictObject({
  default: pendingVerdictModeSchema.default('allow'),
  byExtension: z.record(z.string().regex(/^[a-z0-9]{1,16}$/i), pendingVerdictModeSchema).optional(),
  onUnavailable: z.enum(['release', 'keep']).default('keep'),
});
export type PendingVerdictPolicy = z.infer<typeof pendingVerdictPolicySchema>;

/** Which downloads the extension captures. Matching is case-insensitive; the agent confirms by content. */
export const capturePolicySchema = z.strictObject({
  /** File-name extensions (without the dot) that are captured. */
  fileExtensions: z
    .array(z.string().regex(/^[a-z0-9]{1,16}$/i))
    .max(500)
    .optional(),
  /** MIME types that are captured whatever the file name. */
  mimeTypes: z.array(z.string().max(256)).max(500).optional(),
  /**
   * What a captured download may do while it waits for its verdict: `allow` (it can be opened meanwhile) or `hold`
   * (kept under a `.sandgate-hold` name until a clean verdict; a malicious one is quarantined). `byExtension` overrides
   * `default` per file-name extension. `onUnavailable` says what happens to a held download when no verdict can come
   * (agent not installed or not running, no server reachable): `keep` it held, or `release` it unjudged.
   */
  pendingVerdict: pendingVerdictPolicySchema.optional(),
  /**
   * The folders in which the browser side may name files (submit, hold, release), subfolders included; anything
   * elsewhere is refused with PATH_OUTSIDE_DOWNLOADS. Default: the user's download folder (XDG_DOWNLOAD_DIR, else
   * ~/Downloads) and the download folder each installed browser is configured with, as the agent reads it from the
   * browser's own settings (it never takes the extension's word for it).
   */
  downloadDirs: z
    .array(
      z
        .string()
        .min(1)
        .max(4096)
        .refine((p) => p.startsWith('/') || /^[a-z]:[\\/]/i.test(p), 'an absolute path'),
    )
    .max(32)
    .optional(),
});

/**
 * A Chromium extension ID (32 letters a–p, or its `chrome-extension://<id>/` origin) or a Firefox add-on ID
 * (`name@domain` or a `{GUID}`).
 */
export const extensionIdSchema = z
  .string()
  .regex(
    /^(?:(?:chrome-extension:\/\/)?[a-p]{32}\/?|[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+|\{[0-9A-Fa-f-]{36}\})$/,
    'a Chromium extension ID (32 letters a-p) or a Firefox add-on ID (name@domain or {GUID})',
  );

/** The extensions the native host serves. */
export const extensionPolicySchema = z.strictObject({
  /**
   * Extension IDs the host manifests allow besides Sandgate's own (a store copy under another ID, an in-house
   * rebuild). Chromium IDs go to `allowed_origins`, Firefox IDs to `allowed_extensions`. Applied by `sandgate install`.
   */
  additionalIds: z.array(extensionIdSchema).max(64).default([]),
});

/**
 * How file scans (Critical Areas Scan, IOC scans) share the machine. The CPU budget is a share of the whole machine
 * (all cores together, as a task manager shows it): the scanner measures its own process's CPU time
 * (`process.cpuUsage()`, every thread) and sleeps between batches so that its average stays under the budget.
 */
export const scanPolicySchema = z.strictObject({
  /** Most of the machine's CPU capacity a scan may use on average, in percent of all cores together. */
  cpuBudgetPercent: z.number().int().min(1).max(100).default(50),
  /** Files larger than this (bytes) are not read; they are counted as skipped in the result (256 MiB). */
  maxFileBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 ** 4)
    .default(256 * 1024 * 1024),
});

/**
 * Where an enrolled agent reaches its console when several console processes share one database. Optional: without
 * it the agent uses the URL it enrolled with, alone. With it, the URLs in order of preference, and the enrollment URL
 * after them when it is not in the list (so a wrong list cannot cut an agent off). Every URL must present a
 * certificate issued by the console CA the agent pinned at enrollment for the URL's host: the list chooses among the
 * console's processes, it cannot point the agent at anyone else. An agent older than this key refuses a group policy
 * that has it (the schema is strict): upgrade the agents first.
 */
export const consolePolicySchema = z.strictObject({
  urls: z.array(serverUrlSchema).min(1).max(16),
});

export const policySchema = z.strictObject({
  sandbox: sandboxPolicySchema,
  response: responsePolicySchema.default({
    quarantine: true,
    criticalAreasScan: false,
    iocScan: {
      create: false,
      scope: 'critical',
      runMode: 'afterThreat',
      onMatch: { quarantine: true, criticalAreasScan: false },
      keepResultsDays: 30,
    },
    allowSha256: [],
  }),
  capture: capturePolicySchema.default({}),
  quarantine: quarantinePolicySchema.default({ maxBytes: 1024 ** 3, maxAgeDays: 90, usersMayRestore: false }),
  /** Which browser extensions the native host serves besides Sandgate's own (read by `sandgate install` and `doctor`). */
  extension: extensionPolicySchema.optional(),
  /** How scans share the machine: CPU budget and the largest file read. */
  scan: scanPolicySchema.default({ cpuBudgetPercent: 50, maxFileBytes: 256 * 1024 * 1024 }),
  /** The console processes this agent may talk to (after enrollment); see `consolePolicySchema`. */
  console: consolePolicySchema.optional(),
});

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type SandboxServer = z.infer<typeof serverSchema>;
