import { z } from 'zod';

/**
 * Secrets in a group policy are write-only on the web console: an answer shows `{"set": true}` where the stored policy
 * holds one, never the value. Sent back in a saved policy, the same marker keeps the stored value; a string replaces
 * it; leaving the key out removes it. The agents still receive the real values (mutual TLS, `GET /agent/v1/poll`).
 *
 * The secrets (every key of `policySchema` that holds one): `sandbox.servers[].token` (a CAPE or Cuckoo API token;
 * kept by the server's `url`) and `sandbox.clientCertificate.passphrase`. The client certificate's `pfx`, `cert` and
 * `key` are paths on the workstation, not the key material. @since 1 (console hardening)
 */
export const secretSetSchema = z.strictObject({ set: z.literal(true) });
export type SecretSet = z.infer<typeof secretSetSchema>;
export const SECRET_SET: SecretSet = Object.freeze({ set: true as const });
