import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SandgateError } from '@sandgate/shared';
import { compileIocFiles } from '#native-host/ioc/load-ioc-files.ts';
import { loadStix } from '#native-host/ioc/load-stix.ts';
import type { PortObservation, ProcessObservation } from '#native-host/ioc/observation.ts';
import { sharedData } from '#test-helpers/shared-data.ts';
import { EICAR, fileObservation } from './ioc-helpers.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
let seq = 0;
const id = () => `indicator--00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;

function indicator(pattern: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: id(),
    created: '2024-01-01T00:00:00Z',
    modified: '2024-01-01T00:00:00Z',
    pattern,
    pattern_type: 'stix',
    valid_from: '2024-01-01T00:00:00Z',
    ...extra,
  };
}
function bundle(...objects: object[]) {
  return new TextEncoder().encode(JSON.stringify({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000000', objects }));
}
function plan(...patterns: string[]) {
  return compileIocFiles([{ file: 'feed.json', bytes: bundle(...patterns.map((p) => indicator(p))) }], {
    platform: 'linux',
    now: new Date('2026-01-01T00:00:00Z'),
  }).set;
}
function process(p: Partial<ProcessObservation>): ProcessObservation {
  return { document: 'ProcessItem', pid: 4242, name: 'evil', path: '/tmp/.x/evil', arguments: '/tmp/.x/evil --beacon 203.0.113.7', ...p };
}

describe('STIX indicators compiled into the scan plan', () => {
  it('matches a file by each hash, by name, size and folder, and names the indicator, the file and what matched', async () => {
    const set = plan(
      `[file:hashes.'SHA-256' = '${sha256(EICAR)}']`,
      `[file:hashes.MD5 = '${md5(EICAR).toUpperCase()}']`,
      "[file:name = 'eicar.com' AND file:size >= 68 AND file:size <= 68 AND file:parent_directory_ref.path = '/home/u/Downloads']",
    );
    const matches = await set.match(fileObservation('/home/u/Downloads/eicar.com', EICAR));
    expect(
      matches.map((m) => ({ format: m.format, file: m.file, terms: m.terms })).sort((a, b) => a.terms[0]!.localeCompare(b.terms[0]!)),
    ).toEqual([
      { format: 'stix', file: 'feed.json', terms: [`file:hashes.'SHA-256' = ${sha256(EICAR)}`] },
      { format: 'stix', file: 'feed.json', terms: [`file:hashes.MD5 = ${md5(EICAR)}`] },
      {
        format: 'stix',
        file: 'feed.json',
        terms: ['file:name = eicar.com', 'file:size = 68', 'file:size = 68', 'file:parent_directory_ref.path = /home/u/Downloads'],
      },
    ]);
    expect(matches.every((m) => /^indicator--/.test(m.iocId))).toBe(true);
    expect(set.unsupported).toEqual([]);
  });

  it('decides on name and size before any read: a file of another size is never hashed', async () => {
    const set = plan(`[file:size = 68 AND file:hashes.'SHA-256' = '${sha256(EICAR)}']`);
    const other = fileObservation('/x/big.bin', 'y'.repeat(1000));
    expect(set.plan(other)).toEqual({ possible: false, hashes: new Set() });
    expect(await set.match(other)).toEqual([]);
    expect(other.reads).toBe(0);
  });

  it('evaluates STIX semantics: case-sensitive =, !=, NOT, IN, LIKE, MATCHES, and a CIDR block', async () => {
    const set = plan(
      "[file:name = 'EICAR.COM']",
      "[file:name LIKE 'eic_r.%' AND file:name NOT IN ('a.exe', 'b.exe') AND file:name != 'c.exe']",
      "[file:name MATCHES '^ei.*\\\\.com$']",
    );
    const m = await set.match(fileObservation('/d/eicar.com', EICAR));
    expect(m.map((x) => x.terms[0])).toEqual(['file:name = eicar.com', 'file:name = eicar.com']);
    const net = plan(
      "[network-traffic:dst_ref.value = '203.0.113.0/24' AND network-traffic:dst_port = 443]",
      "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    );
    const sock: PortObservation = {
      document: 'PortItem',
      protocol: 'tcp',
      localIP: '10.0.0.2',
      localPort: 50000,
      remoteIP: '203.0.113.9',
      remotePort: 443,
      isIPv6: false,
      state: 'ESTABLISHED',
    };
    expect((await net.match(sock)).map((x) => x.terms)).toEqual([
      ['network-traffic:dst_ref.value = 203.0.113.9', 'network-traffic:dst_port = 443'],
    ]);
    expect(await net.match({ ...sock, remoteIP: '198.51.100.200' })).toHaveLength(1);
  });

  it('matches processes by name, command line and executable name', async () => {
    const set = plan(
      "[process:name = 'evil' AND process:command_line LIKE '%--beacon%']",
      "[process:binary_ref.name = 'evil']",
      "[process:binary_ref.name = 'vil']",
    );
    const m = await set.match(process({}));
    expect(m.map((x) => x.terms)).toEqual([
      ['process:name = evil', 'process:command_line = /tmp/.x/evil --beacon 203.0.113.7'],
      ["process:binary_ref.name (from the executable's path) = /tmp/.x/evil"],
    ]);
  });

  it('reports by name what it cannot evaluate, and drops it from an OR / makes an AND unmatchable, never silently false', async () => {
    const set = plan(
      "[file:name = 'a'] WITHIN 300 SECONDS",
      "[file:name = 'a'] REPEATS 2 TIMES",
      "[file:name = 'a'] START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'",
      "[file:name = 'a'] FOLLOWEDBY [file:name = 'b']",
      "[file:name = 'a'] AND [file:name = 'b']",
      "[url:value = 'http://example.com/x'] OR [file:name = 'eicar.com']",
      "[email-message:subject = 'x' AND file:name = 'eicar.com']",
      "[file:mime_type = 'application/pdf']",
      '[EXISTS file:name]',
      "[file:name MATCHES '(a)\\\\1']",
      "[file:hashes.'SHA-512' = '" + 'a'.repeat(128) + "']",
    );
    const terms = set.unsupported.map((u) => u.term).sort();
    expect(terms).toEqual([
      'EXISTS file:name',
      'email-message:subject',
      "file:hashes.'SHA-512'",
      'file:mime_type',
      'file:name',
      'observation operator AND',
      'observation operator FOLLOWEDBY',
      'qualifier REPEATS',
      'qualifier START STOP',
      'qualifier WITHIN',
      'url:value',
    ]);
    expect(set.unsupported.find((u) => u.term === 'url:value')?.reason).toMatch(/no collector sees URLs/);
    expect(set.unsupported.find((u) => u.term === 'file:name')?.reason).toMatch(/backtracking/);
    // The OR kept its evaluable branch; the AND with an e-mail comparison can never match and says so above.
    expect((await set.match(fileObservation('/d/eicar.com', EICAR))).map((m) => m.terms)).toEqual([['file:name = eicar.com']]);
    expect(set.termCounts.unsupported).toBe(11);
  });

  it('reports domain-name on Linux by the reason the term table gives (no DNS cache collector)', () => {
    const set = plan("[domain-name:value = 'evil.example']");
    expect(set.unsupported).toEqual([
      expect.objectContaining({ term: 'domain-name:value', reason: expect.stringMatching(/no system-wide DNS cache/) }),
    ]);
  });

  it('honours valid_from, valid_until and revoked, and reports other pattern types by name', () => {
    const objects = [
      indicator("[file:name = 'future']", { valid_from: '2030-01-01T00:00:00Z' }),
      indicator("[file:name = 'past']", { valid_until: '2025-01-01T00:00:00Z' }),
      indicator("[file:name = 'revoked']", { revoked: true }),
      indicator("[file:name = 'now']", { valid_until: '2027-01-01T00:00:00Z' }),
      indicator('title: x\ndetection: y', { pattern_type: 'sigma' }),
    ];
    const r = loadStix(bundle(...objects), 'feed.json', new Date('2026-01-01T00:00:00Z'));
    expect(r.sources.map((s) => s.ioc.id)).toEqual([objects[3]!.id]);
    expect(r.unsupported.map((u) => [u.term, u.reason.split(';')[0]])).toEqual([
      ['valid_from', 'the indicator is not valid before 2030-01-01T00:00:00Z'],
      ['valid_until', 'the indicator expired at 2025-01-01T00:00:00Z'],
      ['revoked', 'the indicator is revoked by its producer'],
      ['pattern_type sigma', 'only STIX patterns are evaluated from a STIX file'],
    ]);
  });

  it('gives coded errors for malformed JSON, a non-STIX object, and a file whose every pattern is invalid', () => {
    const codeOf = (bytes: Uint8Array) => {
      try {
        loadStix(bytes, 'f.json');
        return 'loaded';
      } catch (err) {
        return (err as SandgateError).code;
      }
    };
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(codeOf(enc('{"type": "bundle", "objects": [}'))).toBe('STIX_PARSE_FAILED');
    expect(codeOf(enc('{"hello": "world"}'))).toBe('IOC_FORMAT_UNKNOWN');
    expect(codeOf(enc('{"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000000"}'))).toBe('STIX_PARSE_FAILED');
    expect(codeOf(bundle(indicator('[file:name = ]')))).toBe('STIX_PATTERN_INVALID');
    // One bad pattern among good ones is reported, and the rest run.
    expect(loadStix(bundle(indicator('[file:name = ]'), indicator("[file:name = 'ok']")), 'f.json').unsupported[0]).toMatchObject({
      term: 'pattern',
      reason: expect.stringMatching(/^STIX_PATTERN_INVALID: f\.json indicator--.*: at 13:/),
    });
  });
});

const stix = sharedData('stix');
if (!stix.exists) console.log(`stix-indicators: corpus cases ${stix.skipReason}`);

describe('real STIX 2.1 files (OASIS examples, MISP mappings)', () => {
  it.skipIf(!stix.exists)(
    stix.exists
      ? 'every bundle loads, other files get a coded error, and each stix pattern is evaluated or reported unsupported by name'
      : stix.skipReason,
    () => {
      const files = (readdirSync(stix.dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
      const outcome: Record<string, string> = {};
      let indicators = 0;
      let evaluated = 0;
      const unsupportedTerms = new Map<string, number>();
      for (const f of files) {
        const bytes = readFileSync(join(stix.dir, f));
        try {
          const { set } = compileIocFiles([{ file: relative(stix.dir, join(stix.dir, f)), bytes }], {
            platform: 'linux',
            now: new Date('2026-01-01T00:00:00Z'),
          });
          const loaded = loadStix(bytes, f, new Date('2026-01-01T00:00:00Z'));
          indicators += loaded.indicators;
          evaluated += loaded.sources.length;
          // Each indicator is compiled, or named in `unsupported` (whole, or by a part of its pattern): never lost.
          const json = JSON.parse(bytes.toString('utf8')) as { objects?: Array<{ type: string; id: string }> };
          const compiled = new Set(loaded.sources.map((x) => x.ioc.id));
          const named = new Set(loaded.unsupported.map((u) => u.itemId));
          for (const o of json.objects ?? [])
            if (o.type === 'indicator') expect(compiled.has(o.id) || named.has(o.id), `${f} ${o.id}`).toBe(true);
          for (const u of set.unsupported) {
            expect(u.term, `${f} ${u.itemId}`).not.toBe('');
            expect(u.reason, `${f} ${u.itemId}`).not.toBe('');
            const key = u.term.split(' ')[0]!;
            unsupportedTerms.set(key, (unsupportedTerms.get(key) ?? 0) + 1);
          }
          outcome[f] = 'loaded';
        } catch (err) {
          outcome[f] = err instanceof SandgateError ? err.code : `uncoded: ${String(err)}`;
        }
      }
      const notLoaded = Object.fromEntries(
        Object.entries(outcome)
          .filter(([, v]) => v !== 'loaded')
          .map(([f, v]) => [f.split('/').pop(), v]),
      );
      // Every bundle loads. Single objects that are not indicators are refused by code, as are the malformed files.
      expect(notLoaded).toEqual({
        'identity.json': 'STIX_PARSE_FAILED',
        'identity_unicode.json': 'STIX_PARSE_FAILED',
        'identity_warning.json': 'STIX_PARSE_FAILED',
        'interop-objectmarking-test.json': 'STIX_PARSE_FAILED',
        'invalid_identity.json': 'STIX_PARSE_FAILED',
        'invalid_timestamp.json': 'STIX_PARSE_FAILED',
        'tool.json': 'STIX_PARSE_FAILED',
        'invalid_comma.json': 'STIX_PARSE_FAILED',
        // Starts with "<": told apart by content as XML, and refused by the OpenIOC parser.
        'invalid_braces.json': 'IOC_PARSE_FAILED',
      });
      // The MISP bundle alone has 188 indicators; every one is either compiled or named in `unsupported`.
      expect(indicators).toBeGreaterThan(230);
      expect(evaluated).toBeGreaterThan(40);
      for (const t of ['email-message:from_ref.value', 'x509-certificate:serial_number', 'pattern_type'])
        expect([...unsupportedTerms.keys()].some((k) => k.startsWith(t.split(' ')[0]!))).toBe(true);
    },
  );
});
