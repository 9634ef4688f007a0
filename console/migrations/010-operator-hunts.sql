-- An operator's own hunt for a group (issue 18): a group task whose indicators are a file an operator uploaded
-- (OpenIOC, STIX 2.1 or YARA), not a threat's object. `sha256` holds the file's SHA-256 (one open hunt per file and
-- group), `ioc` its text, `created_by` the operator.

-- threat (made from a reported object) or hunt (an operator's file).
ALTER TABLE group_tasks ADD COLUMN kind text NOT NULL DEFAULT 'threat' CHECK (kind IN ('threat', 'hunt'));
-- huntFileSchema (shared/src/console/hunt.ts): {format, sha256, name, bytes, indicators}; NULL for a threat's task.
ALTER TABLE group_tasks ADD COLUMN hunt jsonb;
