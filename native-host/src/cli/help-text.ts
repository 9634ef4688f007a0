export const MAIN_HELP = `usage: sandgate COMMAND [options]

commands:
  serve                                  run the agent service in the foreground
  submit FILE... [--wait]                queue objects for the sandbox; --wait waits for verdicts and actions
  status                                 service, servers' health, queue, recent verdicts
  events [--follow]                      the event log
  quarantine list | show ID | restore ID [--to PATH] | delete ID | export ID --out FILE [--password P]
  install [--browser chrome|chromium|edge|brave|firefox|all] [--scope user|system] [--profile-dir DIR]
          [--dry-run] [--os linux|macos|windows] [--home DIR] [--root DIR]
  uninstall [same options as install]    remove the native-host registration
  doctor [--scope user|system]           check manifests, launcher, service, socket, policy, certificate, servers
  policy check FILE | policy show        validate a policy; print the effective one
  scan critical                          a Critical Areas Scan now
  ioc scan FILE.ioc... [--scope critical|system|PATH]...   an IOC scan now
  ioc tasks | ioc task show|run|pause|resume|cancel ID | ioc task create FILE.ioc...   IOC scan tasks
  enroll URL TOKEN [--ca-fingerprint SHA256]   join a console with a one-time token; mutual TLS from then on

common options:
  --json          machine-readable output on stdout
  --policy FILE   the policy file (default: $SANDGATE_POLICY, $SANDGATE_HOME/policy.json, /etc/sandgate/policy.json)
  -h, --help      help for a command (sandgate quarantine --help)
  --version       print "sandgate VERSION" and exit 0 (also sandgate-lab --version, sandgate-console --version)

environment:
  SANDGATE_HOME   root of all state (queue, quarantine, events, socket)

exit status: 0 success and no threat, 1 a threat was found (submit, scan, ioc scan), 2 an error.
errors print "error[CODE]: message" on stderr, and with --json also {"error":{"code","message"}} on stdout.
`;
