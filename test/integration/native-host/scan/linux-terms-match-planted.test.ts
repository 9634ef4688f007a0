import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanOutputSchema, type ScanOutput } from '@sandgate/shared';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';
import { TERM_TABLE } from '#native-host/ioc/term-table.ts';
import { LinuxCriticalAreas } from '#native-host/scan/critical-areas/linux.ts';
import { compileForThisHost, hostTermLimits } from '#native-host/scan/host-term-limits.ts';
import { runScan } from '#native-host/scan/run-scan.ts';

/**
 * The term table's promise, kept: every term it marks as evaluated on Linux matches a real object planted for it on
 * this machine (a file, a running process, listening and connected sockets on 127.0.0.1 and ::1, a UDP socket, an
 * enabled systemd unit in a folder the collector is pointed at), through the real collectors and a real scan of a
 * PATH scope, so processes, sockets and services are proven to be collected whatever the scope. A term this machine
 * cannot produce (systemd's active state in a container) must instead be reported unsupported, by name, and not
 * counted as evaluated. A term added to the table for Linux without a proof here fails the first test.
 */

interface Planted {
  file: { path: string; dir: string; name: string; size: number; modified: Date; md5: string; sha1: string; sha256: string };
  child: ChildProcess & { pid: number };
  exe: string;
  marker: string;
  tcp4: number;
  tcp6: number;
  /** Our end of a connection to the tcp4 listener. */
  client: { port: number };
  udp: number;
  unit: { name: string; file: string };
}

type Item = [term: string, condition: string, content: string, type?: string];
/** Each proof: the items ANDed into one IOC; the first is the term under proof, the others pin the planted object. */
const PROOFS: Record<string, (p: Planted) => Item[]> = {
  'FileItem/Md5sum': (p) => [['FileItem/Md5sum', 'is', p.file.md5, 'md5']],
  'FileItem/Sha1sum': (p) => [['FileItem/Sha1sum', 'is', p.file.sha1, 'sha1']],
  'FileItem/Sha256sum': (p) => [['FileItem/Sha256sum', 'is', p.file.sha256, 'sha256']],
  'FileItem/FileName': (p) => [['FileItem/FileName', 'is', p.file.name]],
  'FileItem/FullPath': (p) => [['FileItem/FullPath', 'is', p.file.path]],
  'FileItem/FilePath': (p) => [
    ['FileItem/FilePath', 'is', p.file.dir],
    ['FileItem/FileName', 'is', p.file.name],
  ],
  'FileItem/FileExtension': (p) => [
    ['FileItem/FileExtension', 'is', '.planted'],
    ['FileItem/FileName', 'is', p.file.name],
  ],
  'FileItem/SizeInBytes': (p) => [
    ['FileItem/SizeInBytes', 'is', String(p.file.size), 'int'],
    ['FileItem/FileName', 'is', p.file.name],
  ],
  'FileItem/Modified': (p) => [
    ['FileItem/Modified', 'is', p.file.modified.toISOString(), 'date'],
    ['FileItem/FileName', 'is', p.file.name],
  ],
  'ProcessItem/name': (p) => [['ProcessItem/name', 'is', p.exe.split('/').pop()!]],
  'ProcessItem/path': (p) => [['ProcessItem/path', 'is', p.exe]],
  'ProcessItem/arguments': (p) => [['ProcessItem/arguments', 'contains', p.marker]],
  'ProcessItem/pid': (p) => [['ProcessItem/pid', 'is', String(p.child.pid), 'int']],
  'PortItem/localPort': (p) => [
    ['PortItem/localPort', 'is', String(p.tcp4), 'int'],
    ['PortItem/state', 'is', 'LISTEN'],
  ],
  'PortItem/localIP': (p) => [
    ['PortItem/localIP', 'is', '::1', 'IP'],
    ['PortItem/localPort', 'is', String(p.tcp6), 'int'],
  ],
  'PortItem/isIPv6': (p) => [
    ['PortItem/isIPv6', 'is', 'true', 'bool'],
    ['PortItem/localPort', 'is', String(p.tcp6), 'int'],
  ],
  'PortItem/state': (p) => [
    ['PortItem/state', 'is', 'LISTEN'],
    ['PortItem/localPort', 'is', String(p.tcp4), 'int'],
  ],
  'PortItem/protocol': (p) => [
    ['PortItem/protocol', 'is', 'udp'],
    ['PortItem/localPort', 'is', String(p.udp), 'int'],
  ],
  'PortItem/remoteIP': (p) => [
    ['PortItem/remoteIP', 'matches', '127.0.0.0/8', 'IP'],
    ['PortItem/localPort', 'is', String(p.client.port), 'int'],
  ],
  'PortItem/remotePort': (p) => [
    ['PortItem/remotePort', 'is', String(p.tcp4), 'int'],
    ['PortItem/localPort', 'is', String(p.client.port), 'int'],
  ],
  'PortItem/pid': (p) => [
    ['PortItem/pid', 'is', String(process.pid), 'int'],
    ['PortItem/localPort', 'is', String(p.tcp4), 'int'],
  ],
  'PortItem/process': (p) => [
    ['PortItem/process', 'is', 'node'],
    ['PortItem/localPort', 'is', String(p.tcp6), 'int'],
  ],
  'PortItem/path': (p) => [
    ['PortItem/path', 'is', process.execPath],
    ['PortItem/localPort', 'is', String(p.tcp4), 'int'],
  ],
  'ServiceItem/name': (p) => [['ServiceItem/name', 'is', `${p.unit.name}.service`]],
  'ServiceItem/descriptiveName': (p) => [['ServiceItem/descriptiveName', 'is', `Planted ${p.unit.name}`]],
  'ServiceItem/path': (p) => [
    ['ServiceItem/path', 'is', p.exe],
    ['ServiceItem/name', 'is', p.unit.name],
  ],
  'ServiceItem/arguments': (p) => [
    ['ServiceItem/arguments', 'ends-with', `--serve ${p.marker}`],
    ['ServiceItem/name', 'is', p.unit.name],
  ],
  'ServiceItem/mode': (p) => [
    ['ServiceItem/mode', 'is', 'enabled'],
    ['ServiceItem/name', 'is', p.unit.name],
  ],
  // systemd has never heard of a unit in a temporary folder: where it runs, it says the unit is not running.
  'ServiceItem/status': (p) => [
    ['ServiceItem/status', 'is', 'inactive'],
    ['ServiceItem/name', 'is', p.unit.name],
  ],
};

const LINUX_TERMS = TERM_TABLE.filter((t) => t.platforms.includes('linux')).map((t) => t.term);

function iocFor(term: string, items: Item[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  const body = items
    .map(
      ([search, condition, content, type], i) =>
        `<IndicatorItem id="${esc(term)}#${i}" condition="${condition}" preserve-case="false" negate="false"><Context document="${search.split('/')[0]}" search="${search}" type="mir"/><Content type="${type ?? 'string'}">${esc(content)}</Content></IndicatorItem>`,
    )
    .join('\n');
  return `<?xml version="1.0"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="${esc(term)}">
  <metadata><short_description>proof of ${esc(term)}</short_description><authored_date>2026-01-01T00:00:00Z</authored_date></metadata>
  <criteria><Indicator operator="AND" id="${esc(term)}#and">${body}</Indicator></criteria>
</OpenIOC>`;
}

describe.runIf(process.platform === 'linux')('every term the table marks as evaluated on Linux', () => {
  let root: string;
  let planted: Planted;
  let out: ScanOutput;
  const servers: Server[] = [];
  let clientSocket: Socket;
  let udp: UdpSocket;

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-planted-')));
    const tag = randomBytes(3).toString('hex');
    // A file, with a fixed modification time.
    const dir = join(root, 'files');
    mkdirSync(dir);
    const name = `evidence-${tag}.planted`;
    const content = `planted ${tag}\n`;
    const filePath = join(dir, name);
    writeFileSync(filePath, content);
    const modified = new Date('2025-03-04T05:06:07.000Z');
    utimesSync(filePath, modified, modified);
    const digest = (h: string) => createHash(h).update(content).digest('hex');
    // A running program (a copy of sleep under a name of its own, at most 15 characters: the kernel's comm).
    const exe = join(root, `sgp${tag}`);
    copyFileSync('/bin/sleep', exe);
    const marker = `${600 + Number.parseInt(tag.slice(0, 2), 16)}`;
    const child = spawn(exe, ['3600', marker], { stdio: 'ignore' }) as ChildProcess & { pid: number };
    await new Promise((r) => child.once('spawn', r));
    // Sockets: listeners on 127.0.0.1 and ::1, a connection to the first, a UDP socket.
    const listen = (host: string) =>
      new Promise<number>((resolve) => {
        const s = createServer((c) => c.on('error', () => {})).listen(0, host, () => resolve((s.address() as AddressInfo).port));
        servers.push(s);
      });
    const tcp4 = await listen('127.0.0.1');
    const tcp6 = await listen('::1');
    clientSocket = connect(tcp4, '127.0.0.1');
    await new Promise((r) => clientSocket.once('connect', r));
    udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    // An enabled systemd unit in a folder the service collector is pointed at.
    const units = join(root, 'units');
    const unitName = `planted-${tag}`;
    const unitFile = join(units, `${unitName}.service`);
    mkdirSync(join(units, 'multi-user.target.wants'), { recursive: true });
    writeFileSync(
      unitFile,
      `[Unit]\nDescription=Planted ${unitName}\n[Service]\nExecStart=${exe} --serve ${marker}\n[Install]\nWantedBy=multi-user.target\n`,
    );
    symlinkSync(unitFile, join(units, 'multi-user.target.wants', `${unitName}.service`));
    planted = {
      file: {
        path: filePath,
        dir,
        name,
        size: content.length,
        modified,
        md5: digest('md5'),
        sha1: digest('sha1'),
        sha256: digest('sha256'),
      },
      child,
      exe,
      marker,
      tcp4,
      tcp6,
      client: { port: clientSocket.localPort! },
      udp: udp.address().port,
      unit: { name: unitName, file: unitFile },
    };
    const sources = LINUX_TERMS.filter((t) => PROOFS[t]).map((t) => ({
      file: `${t}.ioc`,
      ioc: parseOpenIoc(iocFor(t, PROOFS[t]!(planted)), `${t}.ioc`),
    }));
    out = await runScan({
      kind: 'ioc',
      scope: [dir],
      indicators: [{ set: compileForThisHost(sources), source: 'ioc' }],
      maxFileBytes: 1 << 20,
      cpuBudgetPercent: 100,
      systemObjects: { unitDirs: { system: [units], user: [], home: [] }, homes: [] },
    });
  }, 60_000);

  afterAll(async () => {
    planted?.child.kill();
    clientSocket?.destroy();
    udp?.close();
    for (const s of servers) s.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('has a planted object to prove it by', () => {
    expect(LINUX_TERMS.filter((t) => !PROOFS[t])).toEqual([]);
    expect(Object.keys(PROOFS).filter((t) => !LINUX_TERMS.includes(t))).toEqual([]);
  });

  it('matches its planted object, or is reported unsupported by name when this machine cannot produce it', () => {
    expect(scanOutputSchema.parse(out)).toEqual(out);
    const limits = hostTermLimits();
    const outcome = (term: string) => {
      const hit = out.matches.find((m) => m.iocId === term);
      if (hit)
        return hit.terms.some((t) => t.startsWith(`${term} = `)) ? 'matched' : `matched without naming ${term}: ${hit.terms.join(', ')}`;
      const u = out.unsupported.find((x) => x.term === term);
      return u ? `unsupported: ${u.reason}` : 'silent';
    };
    const expected = Object.fromEntries(
      LINUX_TERMS.map((t) => [
        t,
        limits.has(t.toLowerCase()) ? `unsupported: ${limits.get(t.toLowerCase())}; so AND ${t}#and (line 4) can never match` : 'matched',
      ]),
    );
    expect(Object.fromEntries(LINUX_TERMS.map((t) => [t, outcome(t)]))).toEqual(expected);
  });

  it('counts as evaluated exactly the terms it evaluates', () => {
    // A term this machine cannot produce kills its AND, so the items pinning its object are not evaluated either.
    const size = (term: string) => PROOFS[term]!(planted).length;
    const dead = new Set(out.unsupported.map((u) => u.term));
    const total = LINUX_TERMS.reduce((n, t) => n + size(t), 0);
    const notEvaluated = [...dead].reduce((n, t) => n + size(t), 0);
    expect(out.termCounts).toEqual({ evaluated: total - notEvaluated, unsupported: notEvaluated });
  });

  it('found each object where it was planted', () => {
    const at = (term: string) => out.matches.find((m) => m.iocId === term)!;
    expect(at('FileItem/Sha256sum')).toMatchObject({ document: 'FileItem', path: planted.file.path, area: 'path' });
    expect(at('ProcessItem/pid')).toMatchObject({ document: 'ProcessItem', path: planted.exe, area: 'process', pid: planted.child.pid });
    expect(at('PortItem/localPort')).toMatchObject({
      document: 'PortItem',
      path: `tcp 127.0.0.1:${planted.tcp4} 0.0.0.0:0`,
      area: 'port',
      pid: process.pid,
    });
    expect(at('PortItem/localIP')).toMatchObject({ path: `tcp6 [::1]:${planted.tcp6} [::]:0` });
    expect(at('PortItem/remotePort')).toMatchObject({
      path: `tcp 127.0.0.1:${planted.client.port} 127.0.0.1:${planted.tcp4}`,
      origin: `ESTABLISHED, pid ${process.pid} (node)`,
    });
    expect(at('ServiceItem/name')).toMatchObject({
      document: 'ServiceItem',
      path: planted.unit.file,
      area: 'service',
      origin: expect.stringContaining('(enabled, '),
    });
  });

  it('looks at sockets in a Critical Areas Scan too', async () => {
    const sources = [{ file: 'port.ioc', ioc: parseOpenIoc(iocFor('port', PROOFS['PortItem/localPort']!(planted)), 'port.ioc') }];
    const empty = join(root, 'empty-root');
    mkdirSync(empty);
    const critical = await runScan({
      kind: 'ioc',
      scope: 'critical',
      indicators: [{ set: compileForThisHost(sources), source: 'ioc' }],
      maxFileBytes: 1 << 20,
      cpuBudgetPercent: 100,
      collectors: [new LinuxCriticalAreas({ root: empty })],
      root: empty,
    });
    expect(critical.matches).toEqual([expect.objectContaining({ iocId: 'port', path: `tcp 127.0.0.1:${planted.tcp4} 0.0.0.0:0` })]);
  });
});
