-- Facts every console process on this database must agree on. `ca_sha256`: the SHA-256 of the console CA certificate
-- that agents pin; a process started with another CA (a data folder not copied from the first) refuses to serve.
CREATE TABLE console_settings (
  key text PRIMARY KEY,
  value text NOT NULL
);

-- The web console's failed-login counters (console/src/users/throttle-store.ts), shared by every console process:
-- one row per (rule, key), the three fields of `FailureCounter`, in milliseconds since 1970.
CREATE TABLE login_failures (
  rule text NOT NULL,
  key text NOT NULL,
  failures integer NOT NULL,
  decay_from bigint NOT NULL,
  locked_until bigint NOT NULL,
  PRIMARY KEY (rule, key)
);
