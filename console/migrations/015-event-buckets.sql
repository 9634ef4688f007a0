-- Per-workstation event limits shared by every console process on the database (issue 17: no state only one process
-- knows). One row per workstation that sent events, as console/src/agents/event-rate-limit.ts keeps it in memory for
-- one process: tokens left and when they were counted, by the database's clock (the processes' clocks may differ).
CREATE TABLE event_buckets (
  agent_id    text PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
  events      double precision NOT NULL,
  bytes       double precision NOT NULL,
  at_ms       double precision NOT NULL,
  reported_ms double precision
);
