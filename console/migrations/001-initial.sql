-- The console's first schema: users and sessions, the audit log, groups with policies, enrollment tokens, agents and
-- their events. Plain PostgreSQL that PGlite runs too.

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  -- scrypt$N$r$p$salt$hash (console/src/users/password-hash.ts)
  password_hash text NOT NULL,
  role          text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled_at   timestamptz
);

CREATE TABLE sessions (
  -- SHA-256 of the cookie value: a database leak does not hand out live sessions.
  id_hash    text PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);

CREATE TABLE audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  -- user:<name>, cli:<os user>, agent:<id>, anonymous
  actor   text NOT NULL,
  action  text NOT NULL,
  target  text,
  -- ok, refused, failed
  outcome text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Policy revisions are unique across groups, so an agent moved from one group to another always sees a new revision.
CREATE SEQUENCE policy_revision_seq;

CREATE TABLE groups (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL UNIQUE,
  -- a whole policy document (policySchema input), or NULL: members keep their local policy
  policy          jsonb,
  policy_revision bigint NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enrollment_tokens (
  id          bigserial PRIMARY KEY,
  -- SHA-256 of the token; the token itself is shown once and never stored
  token_hash  text NOT NULL UNIQUE,
  group_id    bigint REFERENCES groups(id) ON DELETE SET NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  used_by     text
);

CREATE TABLE agents (
  id               text PRIMARY KEY,
  hostname         text NOT NULL,
  cert_serial      text NOT NULL UNIQUE,
  cert_sha256      text NOT NULL,
  cert_not_after   timestamptz NOT NULL,
  group_id         bigint REFERENCES groups(id) ON DELETE SET NULL,
  enrolled_at      timestamptz NOT NULL DEFAULT now(),
  revoked_at       timestamptz,
  last_seen_at     timestamptz,
  heartbeat_ms     integer,
  app_version      text,
  host             jsonb,
  -- the latest heartbeat's queue, servers, applied policy revision and backlog
  status           jsonb
);
CREATE INDEX agents_group ON agents (group_id);

CREATE TABLE agent_events (
  agent_id    text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  -- byte offset of the event's line in the agent's append-only log: unique per agent, only grows
  seq         bigint NOT NULL,
  at          timestamptz NOT NULL,
  type        text NOT NULL,
  event       jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, seq)
);
CREATE INDEX agent_events_at ON agent_events (at);
CREATE INDEX agent_events_type ON agent_events (type, at);
