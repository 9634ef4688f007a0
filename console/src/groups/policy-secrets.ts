import { SECRET_SET, SandgateError, secretSetSchema } from '@sandgate/shared';

/**
 * Write-only secrets of a group policy (shared/src/console/policy-secrets.ts says which and how they are shown).
 * Written against the raw document, not `policySchema`'s output: a stored policy is kept as the admin wrote it.
 */

type Doc = Record<string, unknown>;

const record = (v: unknown): Doc | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const isSetMarker = (v: unknown): boolean => secretSetSchema.safeParse(v).success;

/** The policy as the web console may show it: every secret present replaced with `{"set": true}`. */
export function hidePolicySecrets(policy: Doc | null): Doc | null {
  if (!policy) return policy;
  const copy = structuredClone(policy);
  const sandbox = record(copy['sandbox']);
  for (const s of list(sandbox?.['servers'])) {
    const server = record(s);
    if (server && Object.hasOwn(server, 'token')) server['token'] = { ...SECRET_SET };
  }
  const cc = record(sandbox?.['clientCertificate']);
  if (cc && Object.hasOwn(cc, 'passphrase')) cc['passphrase'] = { ...SECRET_SET };
  return copy;
}

/**
 * The policy an admin saved, with each `{"set": true}` replaced by the value stored for it: a server's token is the
 * one stored for a server with the same `url` (so servers may be reordered), the passphrase is the stored one. A
 * marker with nothing stored behind it is `POLICY_INVALID` (the admin must type the secret), never an empty value.
 */
export function keepPolicySecrets(incoming: Doc, stored: Doc | null): Doc {
  const copy = structuredClone(incoming);
  const issues: Array<{ key: string; message: string }> = [];
  const sandbox = record(copy['sandbox']);
  const storedSandbox = record(stored?.['sandbox']);
  const storedServers = list(storedSandbox?.['servers']).map(record);
  list(sandbox?.['servers']).forEach((s, i) => {
    const server = record(s);
    if (!server || !isSetMarker(server['token'])) return;
    // The server at the same place first, in case two entries share a URL.
    const same = [storedServers[i], ...storedServers].find(
      (old) => old && old['url'] === server['url'] && typeof old['token'] === 'string',
    );
    if (same) server['token'] = same['token'];
    else
      issues.push({
        key: `sandbox.servers.${i}.token`,
        message: 'is kept ({"set": true}) but no stored server with this url has a token: type the token',
      });
  });
  const cc = record(sandbox?.['clientCertificate']);
  if (cc && isSetMarker(cc['passphrase'])) {
    const old = record(storedSandbox?.['clientCertificate'])?.['passphrase'];
    if (typeof old === 'string') cc['passphrase'] = old;
    else
      issues.push({ key: 'sandbox.clientCertificate.passphrase', message: 'is kept ({"set": true}) but no passphrase is stored: type it' });
  }
  if (issues.length) {
    throw new SandgateError('POLICY_INVALID', `the policy is not valid: ${issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`, {
      params: { issues },
    });
  }
  return copy;
}
