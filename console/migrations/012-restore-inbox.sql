-- Employees' restore requests (issue 17): a person clicked "Ask for restore" in the extension's popup, the agent
-- recorded a `restore-requested` event, and the console keeps it here until an administrator approves or declines
-- it. One open request per workstation and SHA-256 (asked again while open: the same request). An answer is given
-- once (`state` moves from open exactly once) and carried to the workstation with its polls until the agent
-- acknowledges it (`agent_received_at`).
CREATE TABLE restore_inbox (
  id                uuid PRIMARY KEY,
  agent_id          text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  sha256            text NOT NULL,
  -- the workstation's quarantine item the person asked about
  quarantine_id     text,
  path              text,
  threat            text,
  level             text,
  -- the account the agent runs as on the workstation (who asked), when it said
  asked_by          text,
  asked_at          timestamptz NOT NULL,
  received_at       timestamptz NOT NULL DEFAULT now(),
  -- open, approved, declined
  state             text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'approved', 'declined')),
  answered_by       text,
  answered_at       timestamptz,
  reason            text,
  allow             boolean NOT NULL DEFAULT false,
  -- the console restore an approval started (restore_requests)
  restore_id        uuid REFERENCES restore_requests(id) ON DELETE SET NULL,
  delivered_at      timestamptz,
  agent_received_at timestamptz
);
CREATE UNIQUE INDEX restore_inbox_one_open ON restore_inbox (agent_id, sha256) WHERE state = 'open';
CREATE INDEX restore_inbox_state ON restore_inbox (state, asked_at);
CREATE INDEX restore_inbox_undelivered ON restore_inbox (agent_id) WHERE state <> 'open' AND agent_received_at IS NULL;
