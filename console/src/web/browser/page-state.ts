// What several views share: the groups and workstations last loaded (the restore form offers both), and the one
// refresh every view asks for after a change.

export interface GroupRow {
  id: number;
  name: string;
  members: number;
  policy_revision: number;
  policy: Record<string, unknown> | null;
  group_actions: Record<string, unknown> | null;
}

export interface AgentRow {
  id: string;
  hostname: string;
  online: boolean;
  revoked_at: string | null;
  group_id: number | null;
  group_name: string | null;
  app_version: string;
  last_seen_at: string | null;
  cert_not_after: string | null;
  /** Which console CA issued its certificate: in service, the new one of a rotation, or a retired one (enroll again). */
  cert_ca?: 'in-service' | 'new' | 'retired';
  host: { platform?: string; release?: string; arch?: string } | null;
  status: { queue?: { objects: number }; eventBacklog?: number } | null;
}

export const pageState = {
  groups: [] as GroupRow[],
  agents: [] as AgentRow[],
  /** Set by the page's entry: reloads the view on screen (and the groups every view's pickers list). */
  refresh: async (): Promise<void> => {},
};
