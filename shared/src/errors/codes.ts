/**
 * The one registry of error codes. A code is a stable string that users, scripts and the extension match on.
 * NEVER change or reuse a code; append only. Every code here must be described in shared/PROTOCOL.md
 * (a contract test checks both directions).
 *
 * `retryable`: the same request may succeed later without anyone changing anything.
 */
export const ERROR_CODES = {
  // framing and protocol
  FRAME_TOO_LARGE: { retryable: false, message: 'A message was larger than the protocol allows' },
  FRAME_MALFORMED: { retryable: false, message: 'A message was not valid UTF-8 JSON' },
  MESSAGE_INVALID: { retryable: false, message: 'A message did not match the protocol schema' },
  PROTOCOL_VERSION_UNSUPPORTED: { retryable: false, message: 'The peer speaks a protocol version this build does not support' },
  REQUEST_NOT_ALLOWED: { retryable: false, message: 'This request type is not allowed from this caller' },
  ORIGIN_FORBIDDEN: { retryable: false, message: 'The calling extension is not one this host was installed for' },
  RESPONSE_TOO_LARGE: { retryable: false, message: 'The response would exceed the 1 MiB native-messaging limit' },
  HOST_DISCONNECTED: { retryable: true, message: 'The native host disconnected' },
  HOST_NOT_INSTALLED: { retryable: false, message: 'The Sandgate native host is not installed for this browser' },
  REQUEST_TIMEOUT: { retryable: true, message: 'The request was not answered in time' },
  AGENT_UNAVAILABLE: { retryable: true, message: 'The Sandgate agent service is not running and could not be started' },
  // objects handed to the agent
  PATH_INVALID: { retryable: false, message: 'The path is not an absolute, normalised path' },
  PATH_IS_LINK: { retryable: false, message: 'The path or one of its folders is a symbolic link' },
  FILE_NOT_FOUND: { retryable: false, message: 'The file does not exist' },
  FILE_NOT_REGULAR: { retryable: false, message: 'The path is not a regular file' },
  FILE_ACCESS_DENIED: { retryable: false, message: 'The agent may not read the file' },
  FILE_NOT_OWNED: { retryable: false, message: 'The file does not belong to the user the agent runs as' },
  FILE_CHANGED: { retryable: true, message: 'The file changed while it was being read' },
  // request queue
  QUEUE_FULL: { retryable: true, message: 'The request queue is at its size limit' },
  OBJECT_TOO_LARGE: { retryable: false, message: 'The object is larger than the request queue can ever hold' },
  QUEUE_IO: { retryable: true, message: 'The request queue could not be written' },
  QUEUE_ENTRY_CORRUPT: { retryable: false, message: 'A request-queue entry was unreadable and was set aside' },
  JOB_NOT_FOUND: { retryable: false, message: 'No such job' },
  // sandbox servers
  NO_SERVERS: { retryable: false, message: 'The policy names no sandbox server' },
  SERVER_UNREACHABLE: { retryable: true, message: 'The sandbox server could not be reached' },
  SERVER_CONNECT_TIMEOUT: { retryable: true, message: 'The sandbox server did not accept a connection within connectTimeoutMs' },
  SERVER_TIMEOUT: { retryable: true, message: 'The sandbox server stopped answering' },
  TLS_CERTIFICATE_REJECTED: { retryable: true, message: 'The sandbox server presented a certificate that is not the pinned one' },
  TLS_HANDSHAKE_FAILED: { retryable: true, message: 'TLS could not be negotiated with the sandbox server (plaintext or an old protocol?)' },
  SERVER_ERROR: { retryable: true, message: 'The sandbox server answered with an error' },
  SERVER_RESPONSE_INVALID: { retryable: true, message: 'The sandbox server answered with something that is not its protocol' },
  ALL_SERVERS_FAILED: { retryable: true, message: 'Every sandbox server failed; the request stays queued' },
  ANALYSIS_FAILED: { retryable: false, message: 'The sandbox could not analyse the object' },
  SERVER_KIND_UNSUPPORTED: {
    retryable: false,
    message: 'This version cannot talk to sandbox servers of this kind yet; the next server is tried',
  },
  // response actions and quarantine
  QUARANTINE_FAILED: { retryable: true, message: 'The object could not be quarantined; the original was left in place' },
  ORIGINAL_CHANGED: { retryable: false, message: 'The original no longer has the content that was judged; it was left alone' },
  QUARANTINE_ITEM_NOT_FOUND: { retryable: false, message: 'No such quarantine item' },
  QUARANTINE_ITEM_CORRUPT: { retryable: false, message: 'A quarantine item failed its integrity check' },
  RESTORE_TARGET_EXISTS: { retryable: false, message: 'A file already exists where the object would be restored' },
  RESTORE_TARGET_UNSAFE: { retryable: false, message: 'The restore destination is not a safe, link-free folder' },
  QUARANTINE_ITEM_BUSY: { retryable: true, message: 'Another restore or delete of this quarantine item is in progress' },
  // configuration and installation
  POLICY_INVALID: { retryable: false, message: 'The policy is not valid' },
  POLICY_NOT_FOUND: { retryable: false, message: 'The policy file does not exist' },
  CERTIFICATE_INVALID: { retryable: false, message: 'A certificate or key in the policy could not be read' },
  BROWSER_UNKNOWN: { retryable: false, message: 'Unknown browser' },
  INSTALL_FAILED: { retryable: false, message: 'The native host could not be registered' },
  USAGE: { retryable: false, message: 'The command line was not understood' },
  INTERNAL: { retryable: false, message: 'An internal error occurred' },
  // local IPC between the bridge, the CLI and the agent service (appended)
  AGENT_ALREADY_RUNNING: { retryable: false, message: 'An agent service is already listening on this SANDGATE_HOME' },
  IPC_PATH_UNSAFE: { retryable: false, message: 'The agent socket folder is not a private folder owned by this user' },
  // queue and transport, issue 3 (appended)
  OBJECT_OVER_MAX_SIZE: { retryable: false, message: 'The object is larger than sandbox.maxObjectBytes allows' },
  TLS_CERTIFICATE_EXPIRED: { retryable: true, message: 'The sandbox server presented an expired (or not yet valid) certificate' },
  TLS_HOSTNAME_MISMATCH: { retryable: true, message: 'The sandbox server certificate does not name the host or address in its URL' },
  SERVER_AUTH_FAILED: { retryable: true, message: 'The sandbox server refused the API token (HTTP 401 or 403)' },
  SERVER_THROTTLED: { retryable: true, message: 'The sandbox server asked the agent to slow down (HTTP 429)' },
  SERVER_SKIPPED: { retryable: true, message: 'The sandbox server failed recently and is skipped until a probe finds it healthy' },
  // quarantine, issue 4 (appended)
  QUARANTINE_EXPORT_TOO_LARGE: { retryable: false, message: 'The quarantined object is too large for a sample archive (4 GiB)' },
  // ioc, issue 5 (appended)
  IOC_PARSE_FAILED: { retryable: false, message: 'The IOC file is not well-formed OpenIOC (the error names the line)' },
  IOC_UNSUPPORTED_VERSION: { retryable: false, message: 'The file is not OpenIOC 1.0 or 1.1 (unknown root element or namespace)' },
  IOC_FILE_TOO_LARGE: { retryable: false, message: 'The IOC file is larger than 10 MiB or nested deeper than the parser allows' },
  IOC_DUPLICATE_ID: { retryable: false, message: 'Two IOC files in one set have the same id' },

  // scan tasks (issue 5)
  TASK_NOT_FOUND: { retryable: false, message: 'No such scan task' },
  TASK_STATE_CONFLICT: { retryable: false, message: 'The scan task cannot do that in its current state (e.g. pause a finished task)' },
  // console and enrollment, issue 8 (appended)
  CONSOLE_TOKEN_INVALID: { retryable: false, message: 'The enrollment token is unknown, already used or expired' },
  CONSOLE_CLIENT_CERT_REQUIRED: {
    retryable: false,
    message: 'The console accepts agents only over mutual TLS with a certificate from its CA',
  },
  AGENT_REVOKED: { retryable: false, message: 'The console revoked this agent; enroll again with a new token' },
  CONSOLE_UNREACHABLE: { retryable: true, message: 'The console could not be reached' },
  CONSOLE_CA_MISMATCH: { retryable: false, message: 'The console presented a CA certificate whose fingerprint is not the expected one' },
  CONSOLE_NOT_ENROLLED: { retryable: false, message: 'This agent is not enrolled with a console (sandgate enroll URL TOKEN)' },
  CONSOLE_RESPONSE_INVALID: { retryable: true, message: 'The console answered with something that is not its protocol' },
  CONSOLE_LOGIN_FAILED: { retryable: false, message: 'Wrong console user name or password' },
  CONSOLE_SESSION_REQUIRED: { retryable: false, message: 'Log in to the console first (no session, or it expired)' },
  CONSOLE_FORBIDDEN: { retryable: false, message: 'The console user lacks the permission this needs' },
  CONSOLE_CSRF_REJECTED: { retryable: false, message: "The request did not carry the session's CSRF token or came from another origin" },
  CONSOLE_NOT_FOUND: { retryable: false, message: 'No such workstation, group, user or page in the console' },
  CONSOLE_CONFLICT: { retryable: false, message: 'The console already has one by that name' },
  DATABASE_UNAVAILABLE: { retryable: true, message: "The console's database could not be opened, reached or migrated" },
  CONSOLE_LOGIN_THROTTLED: {
    retryable: true,
    message:
      'Too many failed console logins for this user name from this address, from this address, or for this user name from addresses it never logged in from, or too many logins being checked at once; try again later',
  },
  ALLOWED_FALSE_POSITIVE: {
    retryable: false,
    message: "The object's SHA-256 is a known false positive in the policy (response.allowSha256): judged, never acted on",
  },
  // the browser side touches only its own downloads, issue 14 (appended)
  PATH_OUTSIDE_DOWNLOADS: {
    retryable: false,
    message: 'The browser may name only files in its download folders (policy capture.downloadDirs)',
  },
  HOLD_NOT_FOUND: { retryable: false, message: 'No download of this browser is held under that name for that job' },
  RELEASE_NOT_JUDGED: {
    retryable: false,
    message:
      'A held download is released only after a clean (or allowed) verdict, or unjudged when policy says so and no server is reachable',
  },
  // sandgate-lab limits, issue 14 (appended)
  SERVER_BUSY: {
    retryable: true,
    message:
      'The sandbox server refused the request for now (too many connections or uploads, an upload below its minimum rate, or not enough disk); the next server is tried',
  },
  LAB_CREDENTIAL_INVALID: {
    retryable: false,
    message: 'sandgate-lab cannot use its client token file (a link, not private to its user, or malformed) or its client CA',
  },
  // console web hardening, issue 14 (appended)
  CONSOLE_BODY_TIMEOUT: { retryable: true, message: 'The request body did not arrive in time; the console closed the connection' },
  // group actions' second witness and per-agent event limits, issue 14 (appended)
  GROUP_TASK_NOT_THE_OBJECT: {
    retryable: false,
    message:
      "The file matched a console group task, but its SHA-256, computed while reading it, is not the task's object: reported, never acted on",
  },
  GROUP_TASK_AWAITING_WITNESS: {
    retryable: true,
    message:
      'The console has no second witness for the object yet (its own sandbox look-up, enough workstations, or an operator): the group task scans and reports only',
  },
  CONSOLE_EVENT_SEQ_INVALID: { retryable: false, message: 'The event batch is out of order: its sequence numbers do not increase' },
  CONSOLE_EVENT_SEQ_AHEAD: {
    retryable: true,
    message:
      'The event batch jumps further past what the console stored for this workstation than its log can; send again from the cursor the console names',
  },
  CONSOLE_AGENT_RATE_LIMITED: {
    retryable: true,
    message:
      'This workstation sent more events, or bytes of events, than the console accepts per minute; nothing was stored, send them again later',
  },
  CONSOLE_EVENT_TOO_LARGE: { retryable: false, message: 'One event is larger than the console stores' },
  CONSOLE_CONFIG_INVALID: { retryable: false, message: "The console's configuration file is not valid" },
  // STIX 2.1 and YARA beside OpenIOC, issue 18 (appended)
  IOC_FORMAT_UNKNOWN: {
    retryable: false,
    message: 'The file is none of the IOC formats Sandgate reads (OpenIOC 1.0/1.1 XML, a STIX 2.1 bundle or indicator in JSON, YARA rules)',
  },
  STIX_PARSE_FAILED: {
    retryable: false,
    message: 'The file is not a well-formed STIX 2.1 bundle or indicator (malformed JSON, or objects that do not fit STIX 2.1)',
  },
  STIX_PATTERN_INVALID: {
    retryable: false,
    message:
      'A STIX pattern does not parse, or is longer or nested deeper than the parser allows (the error names the indicator and position)',
  },
  YARA_COMPILE_FAILED: {
    retryable: false,
    message: "YARA rules did not compile; the error carries the engine's message (other rule files still run)",
  },
  YARA_UNAVAILABLE: {
    retryable: false,
    message: 'The YARA engine (YARA-X) has no prebuilt binary for this platform, so YARA rules cannot run here',
  },
  // An operator's own hunt for a group, issue 18 (appended)
  CONSOLE_HUNT_FILE_TOO_LARGE: {
    retryable: false,
    message: 'The hunt file is larger than the console accepts for a group hunt (256 KiB); nothing was created',
  },
  CONSOLE_HUNT_FILE_INVALID: {
    retryable: false,
    message: 'The hunt file is not UTF-8 text, or holds no indicator or rule the agents would run; nothing was created',
  },
  // The quarantine key under DPAPI on Windows, issue 19 (appended)
  QUARANTINE_KEY_UNUSABLE: {
    retryable: false,
    message:
      'The quarantine key file cannot be unwrapped by this user on this machine (copied from elsewhere, tampered with, or not a Sandgate key file); nothing was quarantined or read',
  },
  QUARANTINE_KEY_PROTECTION_UNAVAILABLE: {
    retryable: false,
    message: "The operating system's key protection (DPAPI through koffi) could not be loaded, so the quarantine key cannot be used",
  },
  // Who is on the other end of the agent's named pipe on Windows, issue 19 (appended)
  AGENT_UNVERIFIED: {
    retryable: false,
    message:
      "The process serving the agent's pipe could not prove it is this user's Sandgate agent (another user's process, or no proof from the pipe key); nothing was sent to it",
  },
  IPC_CLIENT_REFUSED: {
    retryable: false,
    message:
      "A process on the agent's pipe could not prove it may talk to this user's agent (no proof from the pipe key); it got no answer",
  },
} as const satisfies Record<string, { retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as ErrorCode[];
