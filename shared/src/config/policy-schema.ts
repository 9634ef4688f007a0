import { z } from 'zod';

/**
 * The policy: one schema for the agent's policy file and (later) the extension's managed storage.
 * Keys mirror PRODUCT.md; defaults live here and nowhere else. Every key carries its description (`.describe()`):
 * the web console's policy editor shows it beside the key's default (`policyKeys`, policy-keys.ts), and a contract
 * test fails on a key without one.
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
  url: serverUrlSchema.describe(
    'Base URL of the server, e.g. https://sandbox1.corp.example:8443 (an IPv4 address, an [IPv6] address or a fully qualified name, with a port).',
  ),
  kind: z
    .enum(['sandgate', 'cape', 'cuckoo'])
    .default('sandgate')
    .describe("Which API the server speaks: sandgate is Sandgate's own protocol (sandgate-lab); cape and cuckoo select those APIs."),
  token: z
    .string()
    .min(1)
    .optional()
    .describe(
      'API token, never logged and write-only on the console: cape sends Authorization: Token …, cuckoo and sandgate Authorization: Bearer … (sandgate-lab prints where its token file is when it starts).',
    ),
});

const passphraseSchema = z.string().optional().describe('Passphrase of the key (write-only on the console).');
export const clientCertificateSchema = z.union([
  z.strictObject({
    pfx: z.string().min(1).describe('Path to a PKCS#12 file with the client certificate and its key.'),
    passphrase: passphraseSchema,
  }),
  z.strictObject({
    cert: z.string().min(1).describe('Path to the PEM client certificate.'),
    key: z.string().min(1).describe('Path to the PEM private key of the client certificate.'),
    passphrase: passphraseSchema,
  }),
]);

export const sandboxPolicySchema = z.strictObject({
  servers: z.array(serverSchema).min(1).max(32).describe('Servers in order of preference; the next one is tried when one fails.'),
  /**
   * Each certificate in it is a trust anchor, and it may hold several, concatenated:
   * - a server's own certificate, self-signed or issued by a CA: that exact certificate is accepted, nothing else its
   *   issuer signed (neither the issuer nor the root need be given);
   * - an intermediate CA or a root CA: any certificate it issued (directly, or through intermediates the server sends)
   *   that is in date, meant for a TLS server and names the server.
   * See docs/sandbox-backends.md.
   */
  serverCertificate: z
    .string()
    .min(1)
    .describe(
      "A path to, or the text of, the PEM certificates (a server's own, or the CAs that issued it) the servers are trusted through; nothing else is (never the system's CA store). The certificate must name the server's host in a subjectAltName.",
    ),
  clientCertificate: clientCertificateSchema.optional().describe('Optional mutual TLS: a PKCS#12 file (pfx) or PEM cert and key paths.'),
  connectTimeoutMs: z
    .number()
    .int()
    .min(50)
    .max(60_000)
    .default(500)
    .describe('After this many milliseconds without an established connection, the next server is tried.'),
  requestQueueMaxBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 4)
    .default(100 * 1024 * 1024)
    .describe(
      'Size limit of the request-queue folder in bytes (100 MiB). At the limit the agent adds no new requests and records a queue-full event.',
    ),
  analysisTimeoutMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3600_000)
    .default(15 * 60_000)
    .describe('How long to wait for a verdict after a successful upload before the request is retried (milliseconds).'),
  maxObjectBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 ** 4)
    .optional()
    .describe(
      'Largest single object the agent accepts (bytes); larger ones are refused with OBJECT_OVER_MAX_SIZE. Absent: no limit of its own.',
    ),
  verdictCacheTtlMs: z
    .number()
    .int()
    .min(0)
    .max(90 * 24 * 3600_000)
    .default(24 * 3600_000)
    .describe('How long (milliseconds) a verdict answers a repeated object (same SHA-256) at once, with no upload; 0 turns the cache off.'),
});

export const iocScanPolicySchema = z.strictObject({
  create: z
    .boolean()
    .default(true)
    .describe(
      'Create an IOC scan task after a threat. True when iocScan is written without it; without iocScan at all, no task is created.',
    ),
  scope: z
    .enum(['critical', 'system'])
    .default('critical')
    .describe('Where the task scans: critical (critical file areas) or system (file areas on system drives).'),
  runMode: z
    .enum(['manual', 'afterThreat', 'idle'])
    .default('afterThreat')
    .describe(
      'When the task runs: manual, afterThreat (right after the threat) or idle (only while the screen is locked; pauses when the user returns and resumes later).',
    ),
  onMatch: z
    .strictObject({
      quarantine: z.boolean().default(true).describe('Quarantine the files the task finds.'),
      criticalAreasScan: z.boolean().default(false).describe('Run a Critical Areas Scan after a match.'),
    })
    .default({ quarantine: true, criticalAreasScan: false })
    .describe('What the task does with a match.'),
  keepResultsDays: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(30)
    .describe('Days a finished task (completed, failed, cancelled) and its results are kept before they are removed.'),
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
    .optional()
    .describe("Folders or files (absolute paths) scanned instead of scope, e.g. the users' home folders. Absent: scope decides."),
});

export const responsePolicySchema = z.strictObject({
  quarantine: z.boolean().default(true).describe('Move a copy to quarantine and delete the object on a malicious verdict.'),
  criticalAreasScan: z
    .boolean()
    .default(false)
    .describe('Run a Critical Areas Scan after a threat, in the background (the job reports it scheduled with its task id).'),
  iocScan: iocScanPolicySchema
    .default({
      create: false,
      scope: 'critical',
      runMode: 'afterThreat',
      onMatch: { quarantine: true, criticalAreasScan: false },
      keepResultsDays: 30,
    })
    .describe('Create an IOC scan task from the OpenIOC file generated for the verdict.'),
  allowSha256: z
    .array(z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case SHA-256 (64 hex digits)'))
    .max(10_000)
    .default([])
    .describe(
      'Known false positives (lower-case SHA-256): still analysed and reported as judged, never acted on (a verdict-allowed event says why). Filled by a console restore marked false positive.',
    ),
});

/**
 * Storage limits of the quarantine. Applied after every quarantine and at start-up, oldest items first; reaching them
 * never stops a new quarantine (the newest item is always kept).
 */
export const quarantinePolicySchema = z.strictObject({
  maxBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .max(1024 ** 4)
    .default(1024 ** 3)
    .describe('Total bytes the quarantine may take on disk (1 GiB); the oldest items go first.'),
  maxAgeDays: z
    .number()
    .int()
    .min(0)
    .max(3650)
    .default(90)
    .describe('Items older than this many days are removed (90, as Microsoft Defender does); 0 keeps items until deleted.'),
  usersMayRestore: z
    .boolean()
    .default(false)
    .describe(
      'Whether people may restore an item from the extension themselves; when false their request goes to an administrator (a restore-requested event).',
    ),
});

/** `capture.pendingVerdict`: see capturePolicySchema. */
export const pendingVerdictModeSchema = z.enum(['allow', 'hold']);
export const pendingVerdictPolicySchema = z.strictObject({
  default: pendingVerdictModeSchema
    .default('allow')
    .describe(
      'allow: a download can be opened while it waits for its verdict; hold: kept under a .sandgate-hold name until a clean verdict.',
    ),
  byExtension: z
    .record(z.string().regex(/^[a-z0-9]{1,16}$/i), pendingVerdictModeSchema.describe('allow or hold for this file-name extension.'))
    .optional()
    .describe('allow or hold per file-name extension (without the dot), overriding default.'),
  onUnavailable: z
    .enum(['release', 'keep'])
    .default('keep')
    .describe('A held download when no verdict can come (agent not running, no server reachable): keep it held, or release it unjudged.'),
});
export type PendingVerdictPolicy = z.infer<typeof pendingVerdictPolicySchema>;

/** Which downloads the extension captures. Matching is case-insensitive; the agent confirms by content. */
export const capturePolicySchema = z.strictObject({
  fileExtensions: z
    .array(z.string().regex(/^[a-z0-9]{1,16}$/i))
    .max(500)
    .optional()
    .describe('File-name extensions (without the dot) that are captured.'),
  mimeTypes: z.array(z.string().max(256)).max(500).optional().describe('MIME types that are captured whatever the file name.'),
  pendingVerdict: pendingVerdictPolicySchema
    .optional()
    .describe('What a captured download may do while it waits for its verdict (a malicious one is quarantined either way).'),
  /**
   * Default: the user's download folder (XDG_DOWNLOAD_DIR, else ~/Downloads) and the download folder each installed
   * browser is configured with, as the agent reads it from the browser's own settings (it never takes the extension's
   * word for it).
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
    .optional()
    .describe(
      "The folders (subfolders included) in which the browser side may name files; anything elsewhere is refused with PATH_OUTSIDE_DOWNLOADS. Absent: the user's download folder and each browser's configured one.",
    ),
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
  /** Chromium IDs go to `allowed_origins`, Firefox IDs to `allowed_extensions`. */
  additionalIds: z
    .array(extensionIdSchema)
    .max(64)
    .default([])
    .describe(
      "Extension IDs the native host allows besides Sandgate's own (a store copy under another ID, an in-house rebuild): Chromium IDs or Firefox add-on IDs. Applied by sandgate install.",
    ),
});

/**
 * How file scans (Critical Areas Scan, IOC scans) share the machine. The CPU budget is a share of the whole machine
 * (all cores together, as a task manager shows it): the scanner measures its own process's CPU time
 * (`process.cpuUsage()`, every thread) and sleeps between batches so that its average stays under the budget.
 */
export const scanPolicySchema = z.strictObject({
  cpuBudgetPercent: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(50)
    .describe("Most of the machine's CPU capacity a scan may use on average, in percent of all cores together."),
  maxFileBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 ** 4)
    .default(256 * 1024 * 1024)
    .describe('Files larger than this (bytes) are not read; they are counted as skipped in the result (256 MiB).'),
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
  urls: z
    .array(serverUrlSchema)
    .min(1)
    .max(16)
    .describe(
      "The console processes' agent URLs in order of preference (the enrollment URL is tried after them); each must present a certificate of the console CA the agent pinned. Agents older than this key refuse the policy: upgrade them first.",
    ),
});

export const policySchema = z.strictObject({
  sandbox: sandboxPolicySchema.describe('The sandbox servers the agent sends objects to, and how it trusts and waits for them.'),
  response: responsePolicySchema
    .default({
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
    })
    .describe('What the agent does after a malicious verdict.'),
  capture: capturePolicySchema
    .default({})
    .describe('Which downloads the extension captures (case-insensitive; the agent confirms by content).'),
  quarantine: quarantinePolicySchema
    .default({ maxBytes: 1024 ** 3, maxAgeDays: 90, usersMayRestore: false })
    .describe('Storage limits of the quarantine, applied oldest first (the newest item is always kept), and who may restore.'),
  extension: extensionPolicySchema
    .optional()
    .describe("Which browser extensions the native host serves besides Sandgate's own (read by sandgate install and doctor)."),
  scan: scanPolicySchema
    .default({ cpuBudgetPercent: 50, maxFileBytes: 256 * 1024 * 1024 })
    .describe('How scans share the machine: CPU budget and the largest file read.'),
  console: consolePolicySchema
    .optional()
    .describe('The console processes this agent may talk to after enrollment; without it, the URL it enrolled with, alone.'),
});

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type SandboxServer = z.infer<typeof serverSchema>;
