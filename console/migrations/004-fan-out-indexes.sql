-- Fan-out at scale (issue 8, bench/console-load.ts): a group task's shares by state ("is anything still open?",
-- cancel, release after the canary) without reading every share of a 10,000-workstation task.
CREATE INDEX agent_tasks_group_task_state ON agent_tasks (group_task_id, state);
