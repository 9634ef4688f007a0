import { SandgateError, type DoctorCheck, type ErrorCode } from '@sandgate/shared';
import { realClock } from '../clock.ts';
import { createSandboxClients } from './create-clients.ts';
import { findPolicyFile, loadPolicyFile, type LoadedPolicy } from '../config/load-policy.ts';
import { describePinned } from '../config/pinned-certificates.ts';

// A week gives an administrator time to roll a new certificate out before the agent starts refusing the server.
const SOON_MS = 7 * 24 * 3600_000;

/** How to fix a failed server probe, by the error code it failed with. */
const SERVER_FIX: Partial<Record<ErrorCode, string>> = {
  TLS_CERTIFICATE_REJECTED:
    "the server's certificate is neither pinned nor issued by a pinned CA: point sandbox.serverCertificate at the server's own certificate, or at the root or intermediate CA that issued it",
  TLS_CERTIFICATE_EXPIRED: "renew the server's certificate, then update sandbox.serverCertificate",
  TLS_HOSTNAME_MISMATCH:
    'the certificate must name the host in the server URL as a subjectAltName (a DNS name for a name, an IP address for an address, IPv6 included; the common name is not used): fix the URL or reissue the certificate',
  TLS_HANDSHAKE_FAILED: 'the server must speak TLS 1.2 or newer on that port (https://, not http://)',
  SERVER_CONNECT_TIMEOUT: 'check the address, that the server runs and the firewall; raise sandbox.connectTimeoutMs for slow links',
  SERVER_UNREACHABLE: 'check the address, that the server runs and the firewall',
  SERVER_AUTH_FAILED:
    "check the server's token in the policy (sandgate-lab: the content of the token file it prints at start, DATA/tls/token)",
  SERVER_BUSY:
    'the server is at one of its limits (connections, uploads, disk); the next server is tried meanwhile, raise the limit if it persists',
  SERVER_KIND_UNSUPPORTED: 'this version cannot talk to this kind of server; keep a sandgate server in the list',
};

export interface PolicyHealth {
  checks: DoctorCheck[];
  loaded?: LoadedPolicy;
}

/** The policy (found, valid), its pinned certificate (readable, in date) and each server (TLS connect + probe). */
export async function checkPolicyHealth(opts: {
  home: string;
  env: NodeJS.ProcessEnv;
  explicit?: string;
  probeTimeoutMs?: number;
  now?: Date;
}): Promise<PolicyHealth> {
  const checks: DoctorCheck[] = [];
  let path: string;
  try {
    path = findPolicyFile({ home: opts.home, env: opts.env, ...(opts.explicit ? { explicit: opts.explicit } : {}) });
  } catch (err) {
    const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', String(err));
    checks.push({
      check: 'policy',
      status: 'fail',
      code: e.code,
      detail: e.message,
      fix: 'write a policy (start from manifests/policy/policy.example.json) to one of the places named, then sandgate policy check FILE',
    });
    return { checks };
  }
  let loaded: LoadedPolicy;
  try {
    loaded = await loadPolicyFile(path);
  } catch (err) {
    const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', String(err));
    const check = e.code === 'CERTIFICATE_INVALID' ? 'certificate' : 'policy';
    const key = typeof e.params?.key === 'string' ? e.params.key : 'the keys named';
    const fix =
      e.code === 'CERTIFICATE_INVALID'
        ? `make ${key} a readable PEM file (or PEM text) for the agent's user`
        : `fix the keys named, then sandgate policy check ${path}`;
    checks.push({ check, status: 'fail', code: e.code, detail: e.message, fix });
    return { checks };
  }
  checks.push({ check: 'policy', status: 'ok', detail: `${path} (${loaded.policy.sandbox.servers.length} server(s))` });
  checks.push(certificateCheck(loaded, opts.now ?? new Date()));

  const clients = createSandboxClients(loaded, realClock);
  try {
    const results = await Promise.all(
      clients.map(async (c): Promise<DoctorCheck> => {
        const check = `server ${c.url}`;
        try {
          await c.probe(AbortSignal.timeout(opts.probeTimeoutMs ?? 5000));
          return { check, status: 'ok', detail: `${c.kind} server answers over the pinned TLS` };
        } catch (err) {
          const e =
            err instanceof SandgateError ? err : new SandgateError('SERVER_UNREACHABLE', err instanceof Error ? err.message : String(err));
          return {
            check,
            status: 'fail',
            code: e.code,
            detail: e.message,
            fix: SERVER_FIX[e.code as ErrorCode] ?? 'sandgate status shows its last error; sandgate events the history',
          };
        }
      }),
    );
    checks.push(...results);
  } finally {
    for (const c of clients) c.close();
  }
  return { checks, loaded };
}

function certificateCheck(loaded: LoadedPolicy, now: Date): DoctorCheck {
  const check = 'certificate';
  const fix = "put the server's current certificate (or the CA that issued it) in sandbox.serverCertificate";
  const certs = describePinned(loaded.serverCa);
  const expired = certs.find((c) => c.validTo < now);
  if (expired)
    return {
      check,
      status: 'fail',
      code: 'TLS_CERTIFICATE_EXPIRED',
      detail: `the pinned ${expired.role} "${expired.subject}" expired on ${expired.validTo.toISOString()}`,
      fix,
    };
  const early = certs.find((c) => c.validFrom > now);
  if (early)
    return {
      check,
      status: 'fail',
      code: 'TLS_CERTIFICATE_EXPIRED',
      detail: `the pinned ${early.role} "${early.subject}" is not valid before ${early.validFrom.toISOString()} (clock wrong?)`,
      fix,
    };
  const soon = certs.find((c) => c.validTo.getTime() - now.getTime() < SOON_MS);
  const where = loaded.policy.sandbox.serverCertificate.includes('-----BEGIN') ? 'inline PEM' : loaded.policy.sandbox.serverCertificate;
  if (soon)
    return {
      check,
      status: 'warn',
      code: 'TLS_CERTIFICATE_EXPIRED',
      detail: `${where}: the ${soon.role} "${soon.subject}" expires on ${soon.validTo.toISOString()}`,
      fix,
    };
  const until = Math.min(...certs.map((c) => c.validTo.getTime()));
  // Which certificates are CAs matters: a pinned CA vouches for every server certificate it issues.
  const what = certs.map((c) => `${c.role} "${c.subject}"`).join('; ');
  return { check, status: 'ok', detail: `${where}: ${certs.length} certificate(s), valid until ${new Date(until).toISOString()}: ${what}` };
}
