-- The web console's events view pages by arrival (`received_at, agent_id, seq`, newest first; agents/event-pages.ts),
-- filtered or not: without an index in that order every page sorts the whole table. A B-tree is read backwards for
-- the DESC order and the keyset `before` condition.
CREATE INDEX agent_events_arrival ON agent_events (received_at, agent_id, seq);
