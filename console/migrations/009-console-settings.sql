-- Facts every console process on this database must agree on. `ca_sha256`: the SHA-256 of the console CA certificate
-- that agents pin; a process started with another CA (a data folder not copied from the first) refuses to serve.
CREATE TABLE console_settings (
  key text PRIMARY KEY,
  value text NOT NULL
);
