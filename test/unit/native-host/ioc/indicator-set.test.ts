import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SandgateError } from '@sandgate/shared';
import { compileIndicatorSet } from '#native-host/ioc/compile-indicator-set.ts';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';
import type { Observation } from '#native-host/ioc/observation.ts';
import { EICAR, and, compileText, fileObservation, fixture, ioc11, item, or, setOf } from './ioc-helpers.ts';

describe('an IOC set finds what its files describe', () => {
  it('finds the EICAR file by its MD5 under any name, and names the term that matched', async () => {
    const set = setOf(['eicar-1.0.ioc']);
    const found = await set.match(fileObservation('/home/u/Downloads/invoice.pdf', EICAR));
    expect(found).toEqual([
      {
        iocId: '1e0c0000-0000-4000-8000-000000000001',
        file: 'eicar-1.0.ioc',
        description: 'EICAR (1.0)',
        terms: ['FileItem/Md5sum = 44d88612fea8a8f36de82e1278abb02f'],
      },
    ]);
  });

  it('finds a file by the 1.0 AND branch (name contains, size range, containsnot, isnot) without its hash', async () => {
    const set = setOf(['eicar-1.0.ioc']);
    const lookalike = fileObservation('/home/u/eicar-copy.com', 'z'.repeat(65));
    const [m] = await set.match(lookalike);
    expect(m?.terms).toEqual([
      'FileItem/FileName = eicar-copy.com',
      'FileItem/SizeInBytes = 65',
      'FileItem/FullPath = /home/u/eicar-copy.com',
      'FileItem/FileExtension = com',
    ]);
    expect(await set.match(fileObservation('/var/quarantine/eicar-copy.com', 'z'.repeat(65)))).toEqual([]);
    expect(await set.match(fileObservation('/home/u/eicar-notes.TXT', 'z'.repeat(65)))).toEqual([]);
  });

  it('matches processes, sockets, DNS entries and services from one 1.1 file, each against its own document', async () => {
    // The engine itself, fed observations directly: what collects them on which OS is the term table's business.
    const set = setOf(['dropper-1.1.ioc'], { platform: 'any' });
    expect([...set.documents].sort()).toEqual(['DnsEntryItem', 'PortItem', 'ProcessItem', 'ServiceItem']);
    const hits = async (o: Observation) => (await set.match(o)).map((m) => m.terms);
    expect(
      await hits({ document: 'ProcessItem', pid: 7, name: 'updater', path: '/TMP/updater', arguments: 'updater --c2=1.2.3.4:8080' }),
    ).toEqual([['ProcessItem/name = updater', 'ProcessItem/path = /TMP/updater', 'ProcessItem/arguments = updater --c2=1.2.3.4:8080']]);
    expect(await hits({ document: 'ProcessItem', pid: 7, name: 'Updater', path: '/tmp/updater', arguments: '--c2=x:80' })).toEqual([]);
    expect(
      await hits({
        document: 'PortItem',
        protocol: 'tcp',
        localIP: '10.0.0.5',
        localPort: 51000,
        remoteIP: '203.0.113.9',
        remotePort: 4444,
        isIPv6: false,
      }),
    ).toHaveLength(1);
    expect(
      await hits({
        document: 'PortItem',
        protocol: 'tcp',
        localIP: '10.0.0.5',
        localPort: 22,
        remoteIP: '203.0.113.9',
        remotePort: 4444,
        isIPv6: false,
      }),
    ).toEqual([]);
    expect(await hits({ document: 'DnsEntryItem', host: 'cdn.dropper.example' })).toEqual([['DnsEntryItem/Host = cdn.dropper.example']]);
    expect(await hits({ document: 'DnsEntryItem', host: 'other.example', recordData: '203.0.113.7' })).toEqual([
      ['DnsEntryItem/RecordData/IPv4Address = 203.0.113.7'],
    ]);
    const svc = { document: 'ServiceItem' as const, name: 'dropper-sync', descriptiveName: 'Sync helper', path: '/home/u/.cache/dropper' };
    expect(await hits(svc)).toHaveLength(1);
    expect(await hits({ ...svc, descriptiveName: 'Vendor sync helper' })).toEqual([]);
  });

  it('evaluates registry terms against Windows observations, and reports them unsupported where no collector runs', async () => {
    const engine = setOf(['registry-run-key-1.1.ioc'], { platform: 'any' });
    expect(engine.unsupported).toEqual([]);
    const run = {
      document: 'RegistryItem' as const,
      path: 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater',
      valueName: 'Updater',
      text: 'C:\\Users\\u\\AppData\\Roaming\\xkcd.exe',
    };
    expect(await engine.match(run)).toHaveLength(1);
    expect(await engine.match({ ...run, text: 'C:\\Program Files\\Updater\\updater.exe' })).toEqual([]);
    // The Windows collector produces registry records (Critical Areas Scan only), but the terms are not proved live: not evaluated.
    const onWindows = setOf(['registry-run-key-1.1.ioc'], { platform: 'windows' });
    expect(onWindows.termCounts).toEqual({ evaluated: 0, unsupported: 3 });
    expect(onWindows.unsupported[0]?.reason).toContain(
      'the windows collector of RegistryItem produces such records only in a Critical Areas Scan',
    );
    const onLinux = setOf(['registry-run-key-1.1.ioc'], { platform: 'linux' });
    expect(onLinux.unsupported.map((u) => u.term)).toEqual(['RegistryItem/Path', 'RegistryItem/ValueName', 'RegistryItem/Text']);
    expect(onLinux.unsupported[0]?.reason).toContain('RegistryItem/Path cannot be evaluated on linux: the registry exists on Windows only');
    expect(onLinux.termCounts).toEqual({ evaluated: 0, unsupported: 3 });
    expect(onLinux.warnings?.map((w) => w.message)).toEqual([expect.stringContaining('can never match')]);
  });

  it('on Linux, reports DNS cache terms unsupported by name and evaluates the socket, process and service terms', () => {
    const onLinux = setOf(['dropper-1.1.ioc'], { platform: 'linux' });
    expect([...onLinux.documents].sort()).toEqual(['PortItem', 'ProcessItem', 'ServiceItem']);
    const dns = onLinux.unsupported.filter((u) => u.term.startsWith('DnsEntryItem/'));
    expect(dns.length).toBeGreaterThan(0);
    for (const u of dns) expect(u.reason).toContain('Linux keeps no system-wide DNS cache Sandgate can read');
    expect(onLinux.unsupported.every((u) => u.term.startsWith('DnsEntryItem/'))).toBe(true);
    expect(onLinux.termCounts.unsupported).toBe(dns.length);
  });

  it('several top-level indicators in a file are ORed', async () => {
    const xml = ioc11(`${or(item('ProcessItem/name', 'is', 'a'))}\n${or(item('ProcessItem/name', 'is', 'b'))}`);
    const set = compileText(xml);
    expect(await set.match({ document: 'ProcessItem', pid: 1, name: 'b' })).toHaveLength(1);
  });
});

describe('what the set cannot evaluate is reported, never silent', () => {
  const set = setOf(['mixed-support-1.1.ioc']);

  it('lists each unsupported term with its file, item and what happened to its branch', () => {
    expect(set.unsupported).toEqual([
      {
        file: 'mixed-support-1.1.ioc',
        itemId: 'pe-in-or',
        term: 'FileItem/PEInfo/DigitalSignature/SignatureExists',
        reason: 'term FileItem/PEInfo/DigitalSignature/SignatureExists is not evaluated by Sandgate; dropped from OR top',
      },
      {
        file: 'mixed-support-1.1.ioc',
        itemId: 'strings-in-and',
        term: 'FileItem/StringList/string',
        reason: 'term FileItem/StringList/string is not evaluated by Sandgate; so AND and-with-unsupported (line 18) can never match',
      },
    ]);
  });

  it('counts terms: the AND with an unsupported term takes its other terms with it', () => {
    // evaluated: name-in-or, md5-in-cross, proc-in-cross; not: pe-in-or, strings-in-and, name-in-and.
    expect(set.termCounts).toEqual({ evaluated: 3, unsupported: 3 });
  });

  it('drops the unsupported term from the OR but still matches the rest of it', async () => {
    expect(await set.match(fileObservation('/x/evil.bin', 'a'))).toHaveLength(1);
  });

  it('never matches through an AND it could not fully evaluate', async () => {
    expect(await set.match(fileObservation('/x/signed.bin', 'payload'))).toEqual([]);
  });

  it('warns at compile time about an AND across documents, which no single observation can satisfy', async () => {
    expect(set.warnings).toEqual([
      {
        file: 'mixed-support-1.1.ioc',
        itemId: 'and-across-documents',
        line: 28,
        message:
          'AND and-across-documents (line 28) needs FileItem and ProcessItem terms true at once; each observation is one document, so it never matches',
      },
    ]);
    expect(await set.match({ document: 'ProcessItem', pid: 1, name: 'evil' })).toEqual([]);
  });

  it('refuses two files with the same IOC id in one set', () => {
    const a = fixture('eicar-1.0.ioc');
    try {
      compileIndicatorSet([a, { ...a, file: 'copy.ioc' }]);
      expect.unreachable();
    } catch (e) {
      expect((e as SandgateError).code).toBe('IOC_DUPLICATE_ID');
    }
  });
});

describe('planning from a stat: read only what could still decide', () => {
  it('skips every file of another size when the hash is ANDed with a size, without reading it', async () => {
    const sha = createHash('sha256').update(EICAR).digest('hex');
    const set = compileText(
      ioc11(and(item('FileItem/SizeInBytes', 'is', '68', { type: 'int' }), item('FileItem/Sha256sum', 'is', sha, { type: 'sha256' }))),
    );
    const other = fileObservation('/x/big.iso', 'q'.repeat(1000));
    expect(set.plan(other)).toEqual({ possible: false, hashes: new Set() });
    expect(await set.match(other)).toEqual([]);
    expect(other.reads).toBe(0);
    const same = fileObservation('/x/e.com', EICAR);
    expect(set.plan(same)).toEqual({ possible: true, hashes: new Set(['sha256']) });
    expect(await set.match(same)).toHaveLength(1);
    expect(same.asked).toEqual([['sha256']]);
  });

  it('asks only for the hash kinds the IOCs use, in one read', async () => {
    const set = compileText(
      ioc11(or(item('FileItem/Md5sum', 'is', '0'.repeat(32), { type: 'md5' }), item('FileItem/FileName', 'is', 'x.exe'))),
    );
    const f = fileObservation('/x/y.bin', 'data');
    expect(set.plan(f).hashes).toEqual(new Set(['md5']));
    await set.match(f);
    expect(f.asked).toEqual([['md5']]);
  });

  it('needs no hash when a cheap term already decides the file', async () => {
    const set = compileText(
      ioc11(or(item('FileItem/Md5sum', 'is', '0'.repeat(32), { type: 'md5' }), item('FileItem/FileName', 'is', 'x.exe'))),
    );
    // Both branches are in one OR: a named match is enough, but the md5 branch is still open for other files.
    const named = fileObservation('/x/X.EXE', 'data');
    expect((await set.match(named)).map((m) => m.terms)).toEqual([['FileItem/FileName = X.EXE']]);
    const nameOnly = compileText(ioc11(or(item('FileItem/FileName', 'ends-with', '.scr'))), {});
    const f = fileObservation('/x/a.scr', 'data');
    expect(nameOnly.plan(f)).toEqual({ possible: true, hashes: new Set() });
    expect(nameOnly.plan(fileObservation('/x/a.txt', 'data')).possible).toBe(false);
    await nameOnly.match(f);
    expect(f.reads).toBe(0);
  });

  it('reads nothing for an IOC set about processes only', async () => {
    const set = setOf(['dropper-1.1.ioc']);
    const f = fileObservation('/x/a', 'a');
    expect(set.plan(f).possible).toBe(false);
    expect(await set.match(f)).toEqual([]);
    expect(f.reads).toBe(0);
  });

  it('looks 10,000 hashes up in a set: 2,000 files against them in one pass, each read once', async () => {
    const hashes = Array.from({ length: 10_000 }, (_, i) => createHash('md5').update(`bad-${i}`).digest('hex'));
    const body = or(...hashes.map((h) => item('FileItem/Md5sum', 'is', h, { type: 'md5' })));
    const set = compileText(ioc11(body));
    expect(set.termCounts).toEqual({ evaluated: 10_000, unsupported: 0 });
    const files = Array.from({ length: 2_000 }, (_, i) => fileObservation(`/t/f${i}`, i % 500 === 0 ? `bad-${i}` : `good-${i}`));
    const found = (await Promise.all(files.map((f) => set.match(f)))).filter((m) => m.length > 0);
    expect(found).toHaveLength(4);
    expect(files.every((f) => f.reads === 1)).toBe(true);
  });

  it('indexes 1,000 generated-style IOCs (size AND hashes) so each file meets only those of its size', async () => {
    const sources = Array.from({ length: 1_000 }, (_, i) => {
      const content = `sample-${i}`;
      const md5 = createHash('md5').update(content).digest('hex');
      const xml = ioc11(
        and(
          item('FileItem/SizeInBytes', 'is', String(content.length + 100 + i), { type: 'int' }),
          or(item('FileItem/Md5sum', 'is', md5, { type: 'md5' })),
        ),
        `ioc-${i}`,
      );
      return { file: `ioc-${i}.ioc`, ioc: parseOpenIoc(xml, `ioc-${i}.ioc`) };
    });
    const set = compileIndicatorSet(sources, { platform: 'linux' });
    const miss = fileObservation('/x/other', 'q'.repeat(5));
    expect(set.plan(miss).possible).toBe(false);
    const padded = fileObservation('/x/hit', 'z'.repeat(`sample-7`.length + 107));
    expect(set.plan(padded)).toEqual({ possible: true, hashes: new Set(['md5']) });
    expect(await set.match(padded)).toEqual([]);
  });
});
