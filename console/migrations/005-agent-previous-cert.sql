-- Certificate renewal (review finding 5): what a renewal whose answer was lost is checked against, read from the
-- agent's own row by its primary key instead of searched for in the audit log.

-- The serial the last renewal replaced: the one certificate, besides the current one, that may still ask to renew.
ALTER TABLE agents ADD COLUMN previous_cert_serial text;
-- SHA-256 of the current certificate's public key (SPKI, DER), set by renewal (null until the first): a retry with the
-- replaced certificate must ask for this key, which only the agent that made it can sign for.
ALTER TABLE agents ADD COLUMN cert_key_sha256 text;
