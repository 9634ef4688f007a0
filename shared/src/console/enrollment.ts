import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/** What the agent says about the machine it runs on (enrollment and heartbeats). @since 1 */
export const agentHostSchema = lazySchema(() =>
  z.object({
    hostname: z.string().min(1).max(255),
    /** `process.platform`: linux, darwin, win32… */
    platform: z.string().max(32),
    /** `os.release()`. */
    release: z.string().max(128),
    arch: z.string().max(32),
  }),
);
export type AgentHost = z.infer<typeof agentHostSchema>;

/** `POST /agent/v1/enroll`: the one-time token and a PKCS#10 request for the agent's own key. @since 1 */
export const enrollRequestSchema = lazySchema(() =>
  z.object({
    /** As printed by `sandgate-console token create`; works once, until it expires. */
    token: z.string().min(16).max(256),
    /** PEM `CERTIFICATE REQUEST`. Its subject is ignored: the console names the agent. The key never leaves the agent. */
    csr: z.string().min(100).max(16_384),
    host: agentHostSchema,
    /** The agent's application version. */
    appVersion: z.string().max(64),
  }),
);
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

/** The answer to a successful enrollment. @since 1 */
export const enrollResponseSchema = lazySchema(() =>
  z.object({
    /** The id the console gave this agent; also the client certificate's common name. */
    agentId: z.string().uuid(),
    /** PEM client certificate signed by the console CA (clientAuth only). */
    certificate: z.string().min(100),
    /** PEM console CA certificate: the only CA the agent trusts for the console from now on. */
    caCertificate: z.string().min(100),
    /** The administration group the token placed the agent in, if any. */
    group: z.string().optional(),
  }),
);
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

/**
 * `POST /agent/v1/renew`, over mutual TLS with the certificate being replaced: a PKCS#10 request for a new key pair
 * the agent made. The agent id comes from the certificate, never from the body. @since 1 (renewal)
 */
export const renewRequestSchema = lazySchema(() =>
  z.object({
    /**
     * PEM `CERTIFICATE REQUEST` for a fresh key. Its subject's common name is the agent id (agents since CA rotation)
     * or a host name (older agents): a request naming another agent id is refused (`CONSOLE_CSR_SUBJECT_MISMATCH`).
     * The certificate always names the agent of the client certificate.
     */
    csr: z.string().min(100).max(16_384),
  }),
);
export type RenewRequest = z.infer<typeof renewRequestSchema>;

/** The answer to a renewal: the new certificate, already the only one the console accepts for this agent. @since 1 (renewal) */
export const renewResponseSchema = lazySchema(() =>
  z.object({
    /** PEM client certificate for the requested key, signed by the console CA, common name = the agent id. */
    certificate: z.string().min(100),
    /** When it expires (ISO 8601), as recorded by the console. */
    notAfter: z.string(),
    /**
     * The CA certificates to pin for the console from now on (PEM, one or more): during a CA rotation, the CA in
     * service and the new one. Absent from consoles before CA rotation (the agent keeps what it pins).
     * @since 1 (CA rotation)
     */
    caCertificates: z.string().min(100).max(65_536).optional(),
  }),
);
export type RenewResponse = z.infer<typeof renewResponseSchema>;
