-- Every policy a group has had (issue 17): what the web console shows as the group's history and rolls back to.
-- Written with each new revision by setGroupPolicy, in the same transaction; never updated. `policy` is the full
-- document the agents got (secrets included: the API hides them exactly as for the current policy); null means the
-- group's workstations were left to their local policy.
CREATE TABLE group_policy_history (
  group_id  bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  revision  bigint NOT NULL,
  policy    jsonb,
  set_by    text NOT NULL,
  set_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, revision)
);
