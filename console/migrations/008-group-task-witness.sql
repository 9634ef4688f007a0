-- Group actions act only on what the console can vouch for (issue 14): the object's facts and the console-built
-- indicators, a second witness before any workstation but the reporting one quarantines, who reported what, and
-- each agent's event cursor.

-- The facts the task was built from ({sha256, size?, md5?, sha1?}); `ioc` is now the console's own OpenIOC from them.
ALTER TABLE group_tasks ADD COLUMN object jsonb;
-- The reporting agent's own OpenIOC, kept for analysts: its claim, never delivered to a workstation.
ALTER TABLE group_tasks ADD COLUMN agent_ioc text;
-- How many distinct workstations must report the object to witness it (the group's or the console's setting then).
ALTER TABLE group_tasks ADD COLUMN witness_agents integer NOT NULL DEFAULT 2;
-- witnessSchema (shared/src/console/console-task.ts) once witnessed; NULL while the task scans and reports only.
ALTER TABLE group_tasks ADD COLUMN witness jsonb;
ALTER TABLE group_tasks ADD COLUMN witnessed_at timestamptz;
-- The console's last sandbox look-up for the object: {at, outcome, server?, detail?}.
ALTER TABLE group_tasks ADD COLUMN witness_lookup jsonb;
ALTER TABLE group_tasks ADD COLUMN witness_lookup_at timestamptz;
-- Tasks still waiting for a witness: what the look-ups and the per-source cap read.
CREATE INDEX group_tasks_unwitnessed ON group_tasks (sha256) WHERE state = 'open' AND witnessed_at IS NULL;

-- A delivered share of a task witnessed since: the agent gets a `witnessed` message until it reports `witnessed: true`.
ALTER TABLE agent_tasks ADD COLUMN witness_pending boolean NOT NULL DEFAULT false;

-- Each workstation that reported an object malicious, once: the "N distinct workstations" witness.
CREATE TABLE threat_reports (
  sha256      text NOT NULL,
  agent_id    text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  reported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sha256, agent_id)
);

-- The byte offset just past the last event the console stored for the agent: a batch may not start further on than
-- a few skipped lines (EVENT_SEQ_SKIP_BYTES), so no sequence number can be pushed ahead of what was stored.
ALTER TABLE agents ADD COLUMN event_cursor bigint NOT NULL DEFAULT 0;
-- Consoles upgraded with events already stored continue from the end of what they have (the last line's length is
-- not known here; the agent's next batch starts at or after it, within the skip allowance of one line).
UPDATE agents a SET event_cursor = coalesce((SELECT max(seq) + 1 FROM agent_events e WHERE e.agent_id = a.id), 0);
