-- CA rotation and certificate expiry per workstation (issue 17). `console_settings` gains `ca_next_sha256` while a
-- rotation is under way (console/src/pki/ca-rotation.ts); no column change is needed for that.

-- SHA-256 of the CA certificate that issued the agent's current client certificate, set at enrollment and renewal.
-- Rows from before this migration were all issued by the one CA the console had (null when no console ever started
-- on this database: then there are no agents either).
ALTER TABLE agents ADD COLUMN cert_ca_sha256 text;
UPDATE agents SET cert_ca_sha256 = (SELECT value FROM console_settings WHERE key = 'ca_sha256');
-- The CA certificates the agent pins for the console's server certificate, as its heartbeats report them: their
-- SHA-256s, sorted, comma-separated. Null for an agent older than CA rotation (it reports none and is offered nothing).
ALTER TABLE agents ADD COLUMN trust_cas text;
