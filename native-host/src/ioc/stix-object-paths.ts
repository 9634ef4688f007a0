/**
 * The STIX 2.1 object paths Sandgate evaluates, and the OpenIOC term each is read through: a STIX pattern is compiled
 * into the same plan as OpenIOC (one walk, cheap checks before hashes), so its properties map onto the terms the
 * collectors already produce. docs/ioc-terms.md shows this table; where a term is produced (which OS) is the term
 * table's business (term-table.ts), so a STIX path is evaluated exactly where its term is.
 *
 * Anything not here is reported unsupported by name: another object type (`email-message`, `x509-certificate`,
 * `windows-registry-key`, `user-account`, `mutex`…), another property, or a path with a list index.
 */

export interface StixPathDef {
  /** Canonical STIX path as written in patterns. */
  path: string;
  /** The OpenIOC term it is read through. */
  term: string;
  /**
   * How the property relates to the term: `same` (compared as is), `basename` (`process:binary_ref.name`: the last
   * component of the executable's path).
   */
  via: 'same' | 'basename';
  meaning: string;
}

export const STIX_PATHS: readonly StixPathDef[] = [
  { path: 'file:hashes.MD5', term: 'FileItem/Md5sum', via: 'same', meaning: 'MD5 of the content' },
  { path: "file:hashes.'SHA-1'", term: 'FileItem/Sha1sum', via: 'same', meaning: 'SHA-1 of the content' },
  { path: "file:hashes.'SHA-256'", term: 'FileItem/Sha256sum', via: 'same', meaning: 'SHA-256 of the content' },
  { path: 'file:name', term: 'FileItem/FileName', via: 'same', meaning: 'file name with its extension' },
  { path: 'file:size', term: 'FileItem/SizeInBytes', via: 'same', meaning: 'size in bytes' },
  { path: 'file:parent_directory_ref.path', term: 'FileItem/FilePath', via: 'same', meaning: 'the folder holding the file, absolute' },
  {
    path: 'process:name',
    term: 'ProcessItem/name',
    via: 'same',
    meaning: 'process name as the collector reports it (Linux: `comm`, at most 15 characters)',
  },
  { path: 'process:command_line', term: 'ProcessItem/arguments', via: 'same', meaning: 'command line' },
  { path: 'process:pid', term: 'ProcessItem/pid', via: 'same', meaning: 'process id' },
  {
    path: 'process:binary_ref.name',
    term: 'ProcessItem/path',
    via: 'basename',
    meaning: "the executable's file name (the last component of its path)",
  },
  {
    path: 'network-traffic:src_ref.value',
    term: 'PortItem/localIP',
    via: 'same',
    meaning: 'the socket\'s local address (Sandgate sees sockets, not flows: "source" is this machine\'s end)',
  },
  { path: 'network-traffic:src_port', term: 'PortItem/localPort', via: 'same', meaning: 'local port' },
  {
    path: 'network-traffic:dst_ref.value',
    term: 'PortItem/remoteIP',
    via: 'same',
    meaning: 'remote address (a CIDR block such as `203.0.113.0/24` matches the block)',
  },
  { path: 'network-traffic:dst_port', term: 'PortItem/remotePort', via: 'same', meaning: 'remote port' },
  {
    path: 'network-traffic:protocols[*]',
    term: 'PortItem/protocol',
    via: 'same',
    meaning: '`tcp` or `udp` (lower case, as STIX writes them)',
  },
  {
    path: 'ipv4-addr:value',
    term: 'PortItem/remoteIP',
    via: 'same',
    meaning: 'an address this machine has a socket with (remote end), CIDR blocks as above',
  },
  { path: 'ipv6-addr:value', term: 'PortItem/remoteIP', via: 'same', meaning: 'as `ipv4-addr:value`' },
  {
    path: 'domain-name:value',
    term: 'DnsEntryItem/Host',
    via: 'same',
    meaning: 'a name in the DNS cache (no collector on Linux: reported unsupported there)',
  },
];

/** Object types with no collector at all, and why (said instead of a bare "unsupported"). */
export const STIX_TYPES_NOT_COLLECTED: Readonly<Record<string, string>> = {
  url: 'no collector sees URLs (the browser extension captures downloads, not the addresses visited)',
  'email-message': 'no collector reads mail',
  'email-addr': 'no collector reads mail',
  'x509-certificate': 'no collector reads certificates (PE signatures are read only for the never-quarantine rule)',
  'windows-registry-key': 'the registry collector reads autostart keys in a Critical Areas Scan only, and its terms are not evaluated yet',
  'user-account': 'no collector lists user accounts',
  mutex: 'no collector lists mutexes',
  artifact: 'no collector produces artifacts (YARA rules scan file content)',
  directory: 'no collector reports folders as objects (use file:parent_directory_ref.path)',
  software: 'no collector lists installed software',
  'autonomous-system': 'no collector sees routing information',
  'mac-addr': 'no collector sees link-layer addresses',
};

/** Canonical text of a hash key: `MD5`, `SHA-1`, `SHA-256` whatever the case or hyphen in the pattern. */
export function canonicalHashKey(key: string): string {
  const k = key.toUpperCase().replace(/-/g, '');
  return k === 'MD5' ? 'MD5' : k === 'SHA1' ? 'SHA-1' : k === 'SHA256' ? 'SHA-256' : key;
}

const BY_PATH = new Map(STIX_PATHS.map((d) => [d.path, d]));

/** The definition for a path's canonical text (hash keys normalised), or undefined. */
export function findStixPath(text: string): StixPathDef | undefined {
  const m = /^file:hashes\.(?:'([^']*)'|([A-Za-z0-9_]+))$/.exec(text);
  if (m) {
    const key = canonicalHashKey(m[1] ?? m[2]!);
    return BY_PATH.get(key === 'MD5' ? 'file:hashes.MD5' : `file:hashes.'${key}'`);
  }
  return BY_PATH.get(text);
}
