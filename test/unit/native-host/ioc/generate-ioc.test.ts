import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Job } from '@sandgate/shared';
import { compileIndicatorSet } from '#native-host/ioc/compile-indicator-set.ts';
import { generateOpenIoc, subjectFromJob, subjectFromQuarantineItem } from '#native-host/ioc/generate-ioc.ts';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';
import type { ItemMetadata } from '#native-host/quarantine/item-metadata.ts';
import { EICAR, fileObservation } from './ioc-helpers.ts';

const digest = (h: string, s: string) => createHash(h).update(s).digest('hex');

const item: ItemMetadata = {
  format: 1,
  id: 'a'.repeat(32),
  originalPath: '/home/u/Downloads/eicar.com',
  owner: { uid: 1000, gid: 1000 },
  mode: 0o644,
  atimeMs: 0,
  mtimeMs: 0,
  size: EICAR.length,
  sha256: digest('sha256', EICAR),
  sha1: digest('sha1', EICAR),
  md5: digest('md5', EICAR),
  verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://127.0.0.1:8443' },
  source: {
    kind: 'browser',
    browser: 'chromium',
    url: 'http://127.0.0.1:8080/eicar.com',
    finalUrl: 'https://downloads.example.org/files/eicar.com?x=1',
  },
  jobId: 'job-1',
  quarantinedAt: '2024-05-01T12:00:00.000Z',
  reason: 'malicious',
  cipher: 'aes-256-gcm',
};

const indicators = [
  { type: 'signature', value: 'EICAR-Test-File', source: 'eicar' },
  { type: 'file-name', value: 'eicar.com' },
  { type: 'domain', value: 'c2.example.net', source: 'cape' },
  { type: 'ip', value: '198.51.100.23' },
  { type: 'ip', value: 'not-an-ip' },
  { type: 'sha1', value: digest('sha1', 'dropped payload') },
  { type: 'url', value: 'http://c2.example.net/gate.php?a=1&b=<2>' },
  { type: 'malware-family', value: 'Zeus', source: 'cape:Yara' },
];

let n = 0;
const pinned = { now: new Date('2024-05-01T12:00:00Z'), newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` };

describe('an OpenIOC 1.1 file generated from a malicious verdict', () => {
  const generated = generateOpenIoc(subjectFromQuarantineItem(item, indicators), pinned);
  const ioc = parseOpenIoc(generated.xml, 'generated.ioc');
  const set = compileIndicatorSet([{ file: 'generated.ioc', ioc }], { platform: 'linux' });

  it('parses back with our own parser as OpenIOC 1.1', () => {
    expect(ioc).toMatchObject({
      version: '1.1',
      id: generated.id,
      authoredBy: 'Sandgate',
      shortDescription: 'Sandgate: EICAR-Test-File (eicar.com)',
    });
  });

  it('carries SHA-256, SHA-1, MD5, size, file name and the download host', () => {
    const terms = JSON.stringify(ioc.criteria);
    for (const [search, value] of [
      ['FileItem/Sha256sum', item.sha256],
      ['FileItem/Sha1sum', item.sha1],
      ['FileItem/Md5sum', item.md5],
      ['FileItem/SizeInBytes', '68'],
      ['FileItem/FileName', 'eicar.com'],
      ['UrlHistoryItem/HostName', 'downloads.example.org'],
    ]) {
      expect(terms).toContain(`"search":"${search}","contextType":"mir","contentType":`);
      expect(terms).toContain(`"content":"${value}"`);
    }
  });

  it('maps the sandbox indicators it has terms for, and explains the others', () => {
    const terms = JSON.stringify(ioc.criteria);
    expect(terms).toContain('"search":"DnsEntryItem/Host","contextType":"mir","contentType":"string","content":"c2.example.net"');
    expect(terms).toContain('"search":"PortItem/remoteIP","contextType":"mir","contentType":"IP","content":"198.51.100.23"');
    expect(terms).toContain(`"content":"${digest('sha1', 'dropped payload')}"`);
    expect(terms).toContain('"content":"http://c2.example.net/gate.php?a=1&b=<2>"');
    expect(terms.match(/"content":"eicar.com"/g)).toHaveLength(1);
    expect(generated.notes).toEqual([
      'signature "EICAR-Test-File" (eicar): no OpenIOC term for this kind of finding',
      'ip "not-an-ip": not an IP address',
      'malware-family "Zeus" (cape:Yara): no OpenIOC term for this kind of finding',
    ]);
    expect(ioc.description).toContain('malware-family "Zeus"');
  });

  it('matches the original file under another name, and reads only files of its size', async () => {
    const renamed = fileObservation('/home/u/Desktop/report.pdf', EICAR);
    expect((await set.match(renamed)).map((m) => m.iocId)).toEqual([generated.id]);
    const otherSize = fileObservation('/home/u/notes.txt', 'hello');
    expect(set.plan(otherSize).possible).toBe(true); // the dropped payload's SHA-1 and names stay open for every file
    expect(await set.match(otherSize)).toEqual([]);
  });

  it('matches a socket the sandbox named; a host name only where a DNS cache is read', async () => {
    expect(
      await set.match({
        document: 'PortItem',
        protocol: 'tcp',
        localIP: '10.0.0.2',
        localPort: 40000,
        remoteIP: '198.51.100.23',
        remotePort: 443,
        isIPv6: false,
      }),
    ).toHaveLength(1);
    const engine = compileIndicatorSet([{ file: 'generated.ioc', ioc }], { platform: 'any' });
    expect(await engine.match({ document: 'DnsEntryItem', host: 'C2.example.net' })).toHaveLength(1);
  });

  it('says which of its own terms Sandgate cannot evaluate on Linux (browser history, the DNS cache)', () => {
    expect(set.unsupported.map((u) => u.term).sort()).toEqual(['DnsEntryItem/Host', 'UrlHistoryItem/HostName', 'UrlHistoryItem/URL']);
  });

  it('says in the file itself which branches each OS cannot evaluate, and returns the same per OS', () => {
    const dns = /<IndicatorItem id="([^"]+)"[^>]*>\s*<Context document="DnsEntryItem"/.exec(generated.xml)![1]!;
    const port = /<IndicatorItem id="([^"]+)"[^>]*>\s*<Context document="PortItem"/.exec(generated.xml)![1]!;
    // A DNS cache is read nowhere yet; sockets are collected on Linux only.
    expect(generated.xml).toContain(`ref-id="${dns}" name="sandgate:not-evaluated-on"><value type="string">linux macos windows</value>`);
    expect(generated.xml).toContain(`ref-id="${port}" name="sandgate:not-evaluated-on"><value type="string">macos windows</value>`);
    expect(generated.notEvaluatedOn.linux.map((b) => b.term).sort()).toEqual(set.unsupported.map((u) => u.term).sort());
    expect(generated.notEvaluatedOn.linux.find((b) => b.itemId === dns)?.reason).toContain('Linux keeps no system-wide DNS cache');
    expect(generated.notEvaluatedOn.windows.map((b) => b.term)).toContain('PortItem/remoteIP');
    // The hashes, size and name are evaluated everywhere: no parameter for them.
    expect(generated.notEvaluatedOn.windows.some((b) => b.term.startsWith('FileItem/'))).toBe(false);
    expect(ioc.description).toContain('- DnsEntryItem/Host: not on linux, macos, windows');
    // Each OS's agent compiling the file reports exactly the branches the file names for it.
    for (const os of ['linux', 'macos', 'windows'] as const) {
      const onOs = compileIndicatorSet([{ file: 'generated.ioc', ioc }], { platform: os });
      expect(onOs.unsupported.map((u) => u.itemId).sort()).toEqual(generated.notEvaluatedOn[os].map((b) => b.itemId).sort());
    }
  });

  it('from a job (SHA-256 only), still matches the file and skips files of other sizes unread', async () => {
    const job: Job = {
      jobId: 'j1',
      state: 'done',
      path: '/home/u/Downloads/eicar.com',
      sha256: item.sha256,
      size: 68,
      provenance: { source: 'cli' },
      acceptedAt: '2024-05-01T12:00:00Z',
      verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://127.0.0.1:8443' },
    };
    const g = generateOpenIoc(subjectFromJob(job), pinned);
    expect(g.xml).not.toContain('Md5sum');
    const jobSet = compileIndicatorSet([{ file: 'job.ioc', ioc: parseOpenIoc(g.xml, 'job.ioc') }], { platform: 'linux' });
    expect(jobSet.unsupported).toEqual([]);
    const copy = fileObservation('/srv/share/x.bin', EICAR);
    expect(await jobSet.match(copy)).toHaveLength(1);
    expect(copy.asked).toEqual([['sha256']]);
    const other = fileObservation('/srv/share/y.bin', 'other content');
    expect(jobSet.plan(other).possible).toBe(false);
  });
});
