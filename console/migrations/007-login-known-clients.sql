-- Login throttling by (user name, address), issue 14: the addresses each console user has logged in from. When a name
-- is under a guessing attack spread over many addresses, it is locked only for addresses it never logged in from, so
-- the rightful user keeps their access from where they work. Kept in the database so a restart does not forget it.
CREATE TABLE login_known_clients (
  user_name   text NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  -- the throttle's address bucket: an IPv4 address, or an IPv6 /64 (console/src/users/login-throttle.ts)
  address     text NOT NULL,
  first_ok_at timestamptz NOT NULL DEFAULT now(),
  last_ok_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_name, address)
);
