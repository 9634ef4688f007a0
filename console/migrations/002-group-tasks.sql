-- Group actions (issue 8): a group's onThreat settings, the group tasks a threat creates, and each workstation's share.

-- groupActionsSchema (shared/src/console/group-actions.ts); kept apart from `policy`, which the agents receive.
ALTER TABLE groups ADD COLUMN group_actions jsonb;

CREATE TABLE group_tasks (
  id              uuid PRIMARY KEY,
  group_id        bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  sha256          text NOT NULL,
  file_name       text,
  threat          text,
  source_agent_id text REFERENCES agents(id) ON DELETE SET NULL,
  -- agent:<id> (a threat), user:<name>
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  -- the OpenIOC 1.1 text the catching agent generated
  ioc             text NOT NULL,
  -- the group's onThreat settings when the task was made (later edits do not change a running task)
  options         jsonb NOT NULL,
  -- open, finished, cancelled, expired
  state           text NOT NULL DEFAULT 'open',
  canary_released_at timestamptz,
  cancelled_by    text,
  cancelled_at    timestamptz
);
-- One open task per object and group: the same threat caught on two workstations, or an event delivered twice, makes one task.
CREATE UNIQUE INDEX group_tasks_open ON group_tasks (group_id, sha256) WHERE state = 'open';
CREATE INDEX group_tasks_created ON group_tasks (created_at);

CREATE TABLE agent_tasks (
  id            uuid PRIMARY KEY,
  group_task_id uuid NOT NULL REFERENCES group_tasks(id) ON DELETE CASCADE,
  agent_id      text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  -- canary (first wave), rest (after the canary), all (no canary)
  wave          text NOT NULL,
  -- held, over-limit, pending (not yet picked up), received, running, paused, done, failed, cancelled, expired
  state         text NOT NULL,
  pause_reason  text,
  cancel_requested boolean NOT NULL DEFAULT false,
  files_done    integer,
  matches       jsonb NOT NULL DEFAULT '[]'::jsonb,
  error         jsonb,
  delivered_at  timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (group_task_id, agent_id)
);
CREATE INDEX agent_tasks_agent ON agent_tasks (agent_id, state);
