import { OPENIOC_NAMESPACES } from '@sandgate/shared';

/** What the console knows of a reported object: its SHA-256, and what the reporting agent read besides. */
export interface ObjectFacts {
  sha256: string;
  size?: number | undefined;
  md5?: string | undefined;
  sha1?: string | undefined;
}

const HEX = { sha256: /^[0-9a-f]{64}$/, sha1: /^[0-9a-f]{40}$/, md5: /^[0-9a-f]{32}$/ };

/**
 * The indicators of a group task, built here from the object's facts and nothing else, so no text an agent wrote
 * decides what other workstations look for:
 *
 *     AND(SizeInBytes = size, OR(Sha256sum, Sha1sum, Md5sum))     with a size: every other file is skipped unread
 *     OR(Sha256sum, Sha1sum, Md5sum)                              without one
 *
 * Terms hold only hex digests and a number. The threat name (the reporting agent's claim) appears only, escaped, in
 * the title, which is what a quarantine made by the task is labelled with. A size or MD5 that is wrong makes the task
 * miss, or report a file that is not the object: the agent quarantines only the SHA-256.
 */
export function objectIoc(facts: ObjectFacts, o: { threat?: string | null | undefined; now?: Date } = {}): string {
  if (!HEX.sha256.test(facts.sha256)) throw new Error('objectIoc: not a lower-case SHA-256');
  const stamp = (o.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let n = 0;
  const item = (search: string, type: string, value: string, indent: string) =>
    `${indent}<IndicatorItem id="t${++n}" condition="is" preserve-case="false" negate="false">\n` +
    `${indent}  <Context document="FileItem" search="FileItem/${search}" type="mir"/>\n` +
    `${indent}  <Content type="${type}">${value}</Content>\n` +
    `${indent}</IndicatorItem>\n`;
  const hashes = (indent: string) =>
    item('Sha256sum', 'sha256', facts.sha256, indent) +
    (facts.sha1 && HEX.sha1.test(facts.sha1) ? item('Sha1sum', 'sha1', facts.sha1, indent) : '') +
    (facts.md5 && HEX.md5.test(facts.md5) ? item('Md5sum', 'md5', facts.md5, indent) : '');
  const sized = facts.size !== undefined && Number.isSafeInteger(facts.size) && facts.size >= 0;
  const criteria = sized
    ? `    <Indicator operator="AND" id="and">\n` +
      item('SizeInBytes', 'int', String(facts.size), '      ') +
      `      <Indicator operator="OR" id="hashes">\n${hashes('        ')}      </Indicator>\n` +
      `    </Indicator>\n`
    : `    <Indicator operator="OR" id="hashes">\n${hashes('      ')}    </Indicator>\n`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<OpenIOC xmlns="${OPENIOC_NAMESPACES['1.1']}" id="sandgate-console-${facts.sha256}" last-modified="${stamp}" published-date="${stamp}">\n` +
    `  <metadata>\n` +
    `    <short_description>${esc(`Sandgate console: ${(o.threat ?? 'malicious object').slice(0, 200)}`)}</short_description>\n` +
    `    <description>Built by sandgate-console from the reported object's hashes${sized ? ' and size' : ''}.</description>\n` +
    `    <authored_by>sandgate-console</authored_by>\n` +
    `    <authored_date>${stamp}</authored_date>\n` +
    `  </metadata>\n` +
    `  <criteria>\n${criteria}  </criteria>\n` +
    `  <parameters/>\n` +
    `</OpenIOC>\n`
  );
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}
