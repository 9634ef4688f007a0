-- Restore from the console (issue 8): a false positive put back on one workstation or on every member of a group.

CREATE TABLE restore_requests (
  id          uuid PRIMARY KEY,
  sha256      text NOT NULL,
  -- the group asked for (null: one workstation)
  group_id    bigint REFERENCES groups(id) ON DELETE SET NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX restore_requests_created ON restore_requests (created_at);

CREATE TABLE restore_shares (
  id           uuid PRIMARY KEY,
  request_id   uuid NOT NULL REFERENCES restore_requests(id) ON DELETE CASCADE,
  agent_id     text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  -- pending (offered with each poll until reported), done, failed, expired
  state        text NOT NULL DEFAULT 'pending',
  -- restoreItemOutcomeSchema[]: each quarantine item with the SHA-256, restored or refused with its code
  items        jsonb NOT NULL DEFAULT '[]'::jsonb,
  error        jsonb,
  delivered_at timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (request_id, agent_id)
);
CREATE INDEX restore_shares_agent ON restore_shares (agent_id, state);
