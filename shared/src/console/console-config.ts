import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { clientCertificateSchema, serverSchema } from '../config/policy-schema.ts';

/**
 * A sandbox server the console itself asks about a hash (a group task's second witness). Only the Sandgate protocol
 * (`GET /api/v1/files/{sha256}`, sandgate-lab) is spoken; CAPE and Cuckoo look-ups are not done yet.
 */
export const consoleSandboxServerSchema = lazySchema(() =>
  serverSchema.refine((s) => s.kind === 'sandgate', {
    message: 'the console looks hashes up only on sandgate servers (sandgate-lab); CAPE and Cuckoo look-ups are not supported yet',
    path: ['kind'],
  }),
);

/**
 * `witness.sandbox`: the sandbox the console trusts as a second witness. Its answer is believed only over TLS with the
 * pinned certificate; `token` is sent as `Authorization: Bearer …` and `clientCertificate` presented for mutual TLS,
 * for servers that authenticate their clients. Secrets stay in this file (keep it 0600); no console answer shows them.
 */
export const consoleSandboxSchema = lazySchema(() =>
  z.strictObject({
    /** Asked in order; the first that judges the SHA-256 malicious is the witness. */
    servers: z.array(consoleSandboxServerSchema).min(1).max(8),
    /** A path to, or the text of, the PEM certificate (or CA) every server must present. Nothing else is trusted. */
    serverCertificate: z.string().min(1),
    /** Optional mutual TLS: a PKCS#12 file (`pfx`) or PEM `cert` and `key` paths. */
    clientCertificate: clientCertificateSchema.optional(),
    /** One look-up's time limit, connection included. */
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** How often an object still without a witness is looked up again while its group task is open. */
    retryEveryMs: z
      .number()
      .int()
      .min(1000)
      .max(24 * 3600_000)
      .default(60_000),
  }),
);
export type ConsoleSandboxConfig = z.infer<typeof consoleSandboxSchema>;

/** A token bucket: `burst` at once, refilled at `perMinute`. */
const bucketSchema = (perMinute: number, burst: number) =>
  z
    .strictObject({ perMinute: z.number().positive().default(perMinute), burst: z.number().int().positive().default(burst) })
    .default({ perMinute, burst });

/**
 * `sandgate-console serve --config FILE` (default `<data>/console.json` when it exists): console-wide settings that
 * are not per group. @since 1 (issue 14)
 */
export const consoleConfigSchema = lazySchema(() =>
  z.strictObject({
    witness: z
      .strictObject({
        /** Distinct workstations that must report an object malicious to witness it (a group's `witness.agents` wins). */
        agents: z.number().int().min(2).max(100_000).default(2),
        /** Group tasks still waiting for a witness that one workstation's reports may keep open at once. */
        maxOpenPerSource: z.number().int().min(1).max(10_000).default(5),
        sandbox: consoleSandboxSchema.optional(),
      })
      .default({ agents: 2, maxOpenPerSource: 5 }),
    /**
     * Per-workstation limits on what `POST /agent/v1/events` stores. A batch beyond them is refused whole with
     * CONSOLE_AGENT_RATE_LIMITED and sent again later. `burst` must hold a full batch (500 events, 4 MiB).
     */
    limits: z
      .strictObject({
        events: bucketSchema(1200, 5000).refine((b) => b.burst >= 500, { message: 'burst must hold a full batch of 500 events' }),
        eventBytes: bucketSchema(16 * 1024 * 1024, 64 * 1024 * 1024).refine((b) => b.burst >= 4 * 1024 * 1024, {
          message: 'burst must hold a full 4 MiB batch',
        }),
      })
      .default({ events: { perMinute: 1200, burst: 5000 }, eventBytes: { perMinute: 16 * 1024 * 1024, burst: 64 * 1024 * 1024 } }),
  }),
);
export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;
export type ConsoleConfigInput = z.input<typeof consoleConfigSchema>;
