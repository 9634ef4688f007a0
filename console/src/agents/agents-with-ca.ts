import type { AgentsQuery } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';
import type { ConsoleCa } from '../pki/console-ca.ts';
import { caStatus, type CaStatus } from '../pki/ca-rotation.ts';
import { pageAgents, type AgentPage, type AgentRow } from './agents.ts';

/**
 * Which CA a workstation's certificate is from: the one in service, the new one of a rotation under way, or a
 * retired one (that workstation can no longer reach the console: it must enroll again).
 */
export type CertCa = 'in-service' | 'new' | 'retired';

export function certCaOf(row: Pick<AgentRow, 'cert_ca_sha256'>, ca: Pick<ConsoleCa, 'fingerprint' | 'next'>): CertCa {
  const sha = row.cert_ca_sha256 ?? ca.fingerprint;
  if (sha === ca.fingerprint) return 'in-service';
  return sha === ca.next?.fingerprint ? 'new' : 'retired';
}

/** `GET /api/agents`: the page of workstations with each one's CA, and the CAs with how far the fleet moved. */
export async function agentsWithCa(
  db: Queryable,
  ca: Pick<ConsoleCa, 'certPem' | 'fingerprint' | 'next'> | undefined,
  q: AgentsQuery,
): Promise<AgentPage & { agents: Array<AgentRow & { cert_ca?: CertCa }>; ca?: CaStatus }> {
  const page = await pageAgents(db, q);
  if (!ca) return page;
  return { ...page, agents: page.agents.map((a) => ({ ...a, cert_ca: certCaOf(a, ca) })), ca: await caStatus(db, ca) };
}
