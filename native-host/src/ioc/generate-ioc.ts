import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { basename } from 'node:path';
import { OPENIOC_NAMESPACES, type Indicator, type Job } from '@sandgate/shared';
import { findTerm, notCollectedReason, type Platform } from './term-table.ts';

/** What an IOC is generated from: the judged object and what the sandbox said about it. */
export interface IocSubject {
  sha256: string;
  sha1?: string;
  md5?: string;
  size: number;
  fileName: string;
  /** The download URL (after redirects when known). */
  sourceUrl?: string;
  threat?: string;
  server?: string;
  indicators?: readonly Indicator[];
  judgedAt?: string;
}

/** The fields of a quarantine item an IOC is made from (structural: the IOC engine does not know the store). */
export interface QuarantinedObject {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  originalPath: string;
  source: { url?: string | undefined; finalUrl?: string | undefined };
  verdict: { threat?: string | undefined; server: string };
  quarantinedAt: string;
}

export function subjectFromQuarantineItem(item: QuarantinedObject, indicators?: readonly Indicator[]): IocSubject {
  const url = item.source.finalUrl ?? item.source.url;
  return {
    sha256: item.sha256,
    sha1: item.sha1,
    md5: item.md5,
    size: item.size,
    fileName: basename(item.originalPath),
    ...(url ? { sourceUrl: url } : {}),
    ...(item.verdict.threat ? { threat: item.verdict.threat } : {}),
    server: item.verdict.server,
    ...(indicators ? { indicators } : {}),
    judgedAt: item.quarantinedAt,
  };
}

/** A job carries only the SHA-256; the IOC then has no SHA-1 or MD5 term. */
export function subjectFromJob(job: Job): IocSubject {
  const url = job.provenance.finalUrl ?? job.provenance.url;
  return {
    sha256: job.sha256,
    size: job.size,
    fileName: basename(job.path),
    ...(url ? { sourceUrl: url } : {}),
    ...(job.verdict?.threat ? { threat: job.verdict.threat } : {}),
    ...(job.verdict ? { server: job.verdict.server } : {}),
    ...(job.verdict?.indicators ? { indicators: job.verdict.indicators } : {}),
    ...(job.verdict?.judgedAt ? { judgedAt: job.verdict.judgedAt } : job.finishedAt ? { judgedAt: job.finishedAt } : {}),
  };
}

export interface GenerateOptions {
  now?: Date;
  /** Id source for the IOC and its nodes (tests pin it). */
  newId?: () => string;
}

/** A branch of a generated IOC that Sandgate on some OS cannot evaluate. */
export interface NotEvaluatedBranch {
  /** The `IndicatorItem/@id`. */
  itemId: string;
  term: string;
  reason: string;
}

export interface GeneratedIoc {
  id: string;
  xml: string;
  /** Sandbox indicators that became no term, and why (also written into the IOC's description). */
  notes: string[];
  /**
   * Per OS, the branches a Sandgate agent there cannot evaluate (it reports them unsupported and drops them from their
   * OR). Also written into the IOC: one `sandgate:not-evaluated-on` parameter per such item, and a line of the
   * description, so whoever receives the file (the console, another workstation, another tool) can see it.
   */
  notEvaluatedOn: Record<Platform, NotEvaluatedBranch[]>;
}

const PLATFORMS: readonly Platform[] = ['linux', 'macos', 'windows'];

interface Term {
  document: string;
  search: string;
  type: string;
  value: string;
}

/**
 * An OpenIOC 1.1 file for a malicious object:
 * OR
 *   AND(SizeInBytes = size, OR(Sha256sum, Sha1sum, Md5sum))   the object under any name; the size lets a scan skip
 *                                                            every other file without reading it
 *   AND(FileName = name, SizeInBytes = size)                 a same-named copy of the same size
 *   UrlHistoryItem/HostName = the download URL's host          the standard term for "visited this host"
 *   one term per sandbox indicator of a known type
 * Sandbox findings with no term (signatures, families, rules) go into the description. Each item some OS's agent cannot
 * evaluate (the term table) is named in a `sandgate:not-evaluated-on` parameter, a description line and
 * `notEvaluatedOn`, so a receiver on that OS knows which branches it drops.
 */
export function generateOpenIoc(subject: IocSubject, options: GenerateOptions = {}): GeneratedIoc {
  const newId = options.newId ?? randomUUID;
  const now = (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const id = newId();
  const notes: string[] = [];
  const own = new Set(
    [subject.sha256, subject.sha1, subject.md5, subject.fileName.toLowerCase()].filter((x): x is string => !!x).map((x) => x.toLowerCase()),
  );
  const extra: Term[] = [];
  const host = subject.sourceUrl ? hostOf(subject.sourceUrl) : undefined;
  if (host) extra.push({ document: 'UrlHistoryItem', search: 'UrlHistoryItem/HostName', type: 'string', value: host });
  for (const ind of subject.indicators ?? []) {
    const mapped = termFor(ind);
    if ('note' in mapped) notes.push(`${ind.type} ${JSON.stringify(ind.value)}${ind.source ? ` (${ind.source})` : ''}: ${mapped.note}`);
    else if (own.has(mapped.value.toLowerCase())) continue;
    else if (!extra.some((t) => t.search === mapped.search && t.value.toLowerCase() === mapped.value.toLowerCase())) extra.push(mapped);
  }

  const notEvaluatedOn: Record<Platform, NotEvaluatedBranch[]> = { linux: [], macos: [], windows: [] };
  const params: string[] = [];
  const item = (t: Term, indent: string) => {
    const itemId = newId();
    const missing = PLATFORMS.map((p) => ({ p, reason: notEvaluatedReason(t.search, p) })).filter(
      (m): m is { p: Platform; reason: string } => !!m.reason,
    );
    for (const m of missing) notEvaluatedOn[m.p].push({ itemId, term: t.search, reason: m.reason });
    if (missing.length) {
      params.push(
        `    <param id="${newId()}" ref-id="${itemId}" name="sandgate:not-evaluated-on"><value type="string">${missing.map((m) => m.p).join(' ')}</value></param>\n`,
      );
    }
    return (
      `${indent}<IndicatorItem id="${itemId}" condition="is" preserve-case="false" negate="false">\n` +
      `${indent}  <Context document="${esc(t.document)}" search="${esc(t.search)}" type="mir"/>\n` +
      `${indent}  <Content type="${esc(t.type)}">${esc(t.value)}</Content>\n` +
      `${indent}</IndicatorItem>\n`
    );
  };
  const size: Term = { document: 'FileItem', search: 'FileItem/SizeInBytes', type: 'int', value: String(subject.size) };
  const hashes: Term[] = [
    { document: 'FileItem', search: 'FileItem/Sha256sum', type: 'sha256', value: subject.sha256 },
    ...(subject.sha1 ? [{ document: 'FileItem', search: 'FileItem/Sha1sum', type: 'sha1', value: subject.sha1 }] : []),
    ...(subject.md5 ? [{ document: 'FileItem', search: 'FileItem/Md5sum', type: 'md5', value: subject.md5 }] : []),
  ];
  const i = '      ';
  const criteria =
    `    <Indicator operator="OR" id="${newId()}">\n` +
    extra.map((t) => item(t, i)).join('') +
    `${i}<Indicator operator="AND" id="${newId()}">\n` +
    item(size, i + '  ') +
    `${i}  <Indicator operator="OR" id="${newId()}">\n` +
    hashes.map((t) => item(t, i + '    ')).join('') +
    `${i}  </Indicator>\n` +
    `${i}</Indicator>\n` +
    `${i}<Indicator operator="AND" id="${newId()}">\n` +
    item({ document: 'FileItem', search: 'FileItem/FileName', type: 'string', value: subject.fileName }, i + '  ') +
    item(size, i + '  ') +
    `${i}</Indicator>\n` +
    `    </Indicator>\n`;

  const title = `Sandgate: ${subject.threat ?? 'malicious object'} (${subject.fileName})`;
  const description = [
    `Generated by Sandgate from a malicious verdict${subject.server ? ` of ${subject.server}` : ''}${subject.judgedAt ? ` (${subject.judgedAt})` : ''}.`,
    `Object: ${subject.fileName}, ${subject.size} bytes, SHA-256 ${subject.sha256}${subject.sourceUrl ? `, downloaded from ${subject.sourceUrl}` : ''}.`,
    ...(notes.length ? ['Sandbox findings kept here because no OpenIOC term expresses them:', ...notes.map((n) => `- ${n}`)] : []),
    ...notEvaluatedLines(notEvaluatedOn),
  ].join('\n');
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<OpenIOC xmlns="${OPENIOC_NAMESPACES['1.1']}" id="${id}" last-modified="${now}" published-date="${now}">\n` +
    `  <metadata>\n` +
    `    <short_description>${esc(title)}</short_description>\n` +
    `    <description>${esc(description)}</description>\n` +
    `    <keywords>sandgate malicious${subject.threat ? ' ' + esc(subject.threat) : ''}</keywords>\n` +
    `    <authored_by>Sandgate</authored_by>\n` +
    `    <authored_date>${now}</authored_date>\n` +
    `    <links>\n` +
    (subject.threat ? `      <link rel="threat">${esc(subject.threat)}</link>\n` : '') +
    `      <link rel="sha256">${esc(subject.sha256)}</link>\n` +
    `    </links>\n` +
    `  </metadata>\n` +
    `  <criteria>\n${criteria}  </criteria>\n` +
    (params.length ? `  <parameters>\n${params.join('')}  </parameters>\n` : `  <parameters/>\n`) +
    `</OpenIOC>\n`;
  return { id, xml, notes, notEvaluatedOn };
}

/** Why Sandgate on `platform` cannot evaluate a term (as its IOC engine would report it), or undefined when it can. */
function notEvaluatedReason(search: string, platform: Platform): string | undefined {
  const def = findTerm(search);
  return def ? notCollectedReason(def, platform) : `term ${search} is not evaluated by Sandgate`;
}

/** One description line per term not evaluated somewhere: `DnsEntryItem/Host: not on linux, macos, windows`. */
function notEvaluatedLines(byOs: Record<Platform, NotEvaluatedBranch[]>): string[] {
  const where = new Map<string, Set<Platform>>();
  for (const p of PLATFORMS) for (const b of byOs[p]) where.set(b.term, (where.get(b.term) ?? new Set()).add(p));
  if (where.size === 0) return [];
  return [
    'Terms Sandgate cannot evaluate on some systems (dropped from their OR there; see the sandgate:not-evaluated-on parameters):',
    ...[...where].map(([term, ps]) => `- ${term}: not on ${[...ps].join(', ')}`),
  ];
}

function hostOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (!['http:', 'https:', 'ftp:'].includes(u.protocol) || !u.hostname) return undefined;
    return u.hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

const HEX = { md5: /^[0-9a-f]{32}$/i, sha1: /^[0-9a-f]{40}$/i, sha256: /^[0-9a-f]{64}$/i };

/** Sandbox indicator types (as the backends name them) to the standard OpenIOC term for each. */
function termFor(ind: Indicator): Term | { note: string } {
  const type = ind.type.toLowerCase().replace(/[\s_]/g, '-');
  const value = ind.value.trim();
  if (!value) return { note: 'empty value' };
  const hash = (name: 'md5' | 'sha1' | 'sha256'): Term | { note: string } =>
    HEX[name].test(value)
      ? {
          document: 'FileItem',
          search: `FileItem/${name === 'md5' ? 'Md5sum' : name === 'sha1' ? 'Sha1sum' : 'Sha256sum'}`,
          type: name,
          value: value.toLowerCase(),
        }
      : { note: `not a ${name} digest` };
  switch (type) {
    case 'md5':
    case 'sha1':
    case 'sha-1':
    case 'sha256':
    case 'sha-256':
      return hash(type.replace('-', '') as 'md5' | 'sha1' | 'sha256');
    case 'hash':
    case 'file-hash':
      return value.length === 32 ? hash('md5') : value.length === 40 ? hash('sha1') : hash('sha256');
    case 'file-name':
    case 'filename':
    case 'dropped-file':
      return { document: 'FileItem', search: 'FileItem/FileName', type: 'string', value };
    case 'file-path':
    case 'filepath':
    case 'path':
      return { document: 'FileItem', search: 'FileItem/FullPath', type: 'string', value };
    case 'domain':
    case 'hostname':
    case 'host':
    case 'fqdn':
    case 'dns':
      return /^[a-z0-9.-]+$/i.test(value)
        ? { document: 'DnsEntryItem', search: 'DnsEntryItem/Host', type: 'string', value }
        : { note: 'not a host name' };
    case 'ip':
    case 'ipv4':
    case 'ipv6':
    case 'ip-address':
    case 'ip-dst':
      return isIP(value) ? { document: 'PortItem', search: 'PortItem/remoteIP', type: 'IP', value } : { note: 'not an IP address' };
    case 'url':
    case 'uri':
      return { document: 'UrlHistoryItem', search: 'UrlHistoryItem/URL', type: 'string', value };
    case 'process':
    case 'process-name':
      return { document: 'ProcessItem', search: 'ProcessItem/name', type: 'string', value };
    case 'mutex':
    case 'mutant':
      return { document: 'ProcessItem', search: 'ProcessItem/HandleList/Handle/Name', type: 'string', value };
    case 'registry':
    case 'registry-key':
    case 'regkey':
      return { document: 'RegistryItem', search: 'RegistryItem/Path', type: 'string', value };
    default:
      return { note: 'no OpenIOC term for this kind of finding' };
  }
}

/** XML text and attribute escaping; characters XML 1.0 forbids are dropped rather than written. */
function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
