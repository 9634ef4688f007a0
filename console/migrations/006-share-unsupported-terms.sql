-- No silent terms (issue 13): what each workstation could not evaluate of a group task's IOC, by name, so the console
-- does not show "no match" where the workstation never looked (e.g. a DNS cache term on Linux).

-- [{itemId, term, reason}] as the workstation reported it (the first 100); null until it reports.
ALTER TABLE agent_tasks ADD COLUMN unsupported jsonb;
-- {evaluated, unsupported}: how many of the IOC's terms the workstation evaluates and how many it cannot.
ALTER TABLE agent_tasks ADD COLUMN term_counts jsonb;
