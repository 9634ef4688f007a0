import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanOutputSchema } from '@sandgate/shared';
import { SHIM, runSandgate } from '../cli/run-sandgate.ts';

let root: string;
let home: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-scan-cli-')));
  home = join(root, 'home');
  mkdirSync(home);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** An OpenIOC 1.1 file: the EICAR file by SHA-256 or by name, plus a term Linux cannot evaluate. */
function eicarIoc(): string {
  return `<?xml version="1.0"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="eicar-ioc">
  <metadata><short_description>EICAR test file</short_description><authored_date>2026-01-01T00:00:00Z</authored_date></metadata>
  <criteria>
    <Indicator operator="OR" id="top">
      <IndicatorItem id="by-hash" condition="is" preserve-case="false" negate="false">
        <Context document="FileItem" search="FileItem/Sha256sum" type="mir"/>
        <Content type="string">${sha(EICAR)}</Content>
      </IndicatorItem>
      <IndicatorItem id="by-signature" condition="is" preserve-case="false" negate="false">
        <Context document="FileItem" search="FileItem/PEInfo/DigitalSignature/SignatureExists" type="mir"/>
        <Content type="string">false</Content>
      </IndicatorItem>
    </Indicator>
  </criteria>
</OpenIOC>
`;
}

describe('sandgate ioc scan', () => {
  it('finds the object in a folder, exits 1, and lists the term it cannot evaluate', async () => {
    const tree = join(root, 'tree');
    mkdirSync(join(tree, 'deep/er'), { recursive: true });
    writeFileSync(join(tree, 'deep/er/eicar.com'), EICAR);
    writeFileSync(join(tree, 'readme.txt'), 'hello');
    writeFileSync(join(root, 'eicar.ioc'), eicarIoc());
    const r = await runSandgate(['ioc', 'scan', 'eicar.ioc', '--scope', tree, '--json'], { home, cwd: root });
    expect(r.code, r.stderr).toBe(1);
    const out = scanOutputSchema.parse(JSON.parse(r.stdout));
    expect(out.matches).toEqual([
      expect.objectContaining({
        path: join(tree, 'deep/er/eicar.com'),
        iocId: 'eicar-ioc',
        source: 'ioc',
        file: join(root, 'eicar.ioc'),
        area: 'path',
      }),
    ]);
    expect(out.unsupported).toEqual([
      expect.objectContaining({ term: 'FileItem/PEInfo/DigitalSignature/SignatureExists', file: join(root, 'eicar.ioc') }),
    ]);
    expect(out.termCounts.unsupported).toBe(1);
    expect(r.stderr).toMatch(/^scan: 2 files seen, .*1 match, 0 errors/m);

    const text = await runSandgate(['ioc', 'scan', join(root, 'eicar.ioc'), '--scope', tree], { home });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^MATCH {2}.*eicar\.com {2}\[path\]/m);
    // Said before the scan starts, and in the result.
    expect(text.stderr).toMatch(/1 IOC term\(s\) cannot be evaluated here .*\n.*SignatureExists/);
  });

  it('exits 0 when nothing matches, and takes several --scope paths', async () => {
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'a/x'), 'x');
    writeFileSync(join(root, 'b/y'), 'y');
    writeFileSync(join(root, 'eicar.ioc'), eicarIoc());
    const r = await runSandgate(['ioc', 'scan', 'eicar.ioc', '--scope', 'a', '--scope', 'b', '--json'], { home, cwd: root });
    expect(r.code, r.stderr).toBe(0);
    const out = scanOutputSchema.parse(JSON.parse(r.stdout));
    expect(out.scope).toEqual([join(root, 'a'), join(root, 'b')]);
    expect(out.summary.filesSeen).toBe(2);
  });

  it("exits 2 with the parser's error for a malformed IOC, and for a policy named but missing", async () => {
    writeFileSync(
      join(root, 'bad.ioc'),
      '<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="x">\n<criteria>\n<Indicator operator="OR" id="i">\n</criteria>',
    );
    const bad = await runSandgate(['ioc', 'scan', 'bad.ioc', '--scope', root, '--json'], { home, cwd: root });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error\[IOC_PARSE_FAILED\]: .*bad\.ioc:\d+/m);
    expect(JSON.parse(bad.stdout).error.code).toBe('IOC_PARSE_FAILED');

    writeFileSync(join(root, 'eicar.ioc'), eicarIoc());
    const noPolicy = await runSandgate(['ioc', 'scan', 'eicar.ioc', '--scope', root, '--policy', join(root, 'nope.json')], {
      home,
      cwd: root,
    });
    expect(noPolicy.code).toBe(2);
    expect(noPolicy.stderr).toMatch(/^error\[POLICY_NOT_FOUND\]/m);

    const typo = await runSandgate(['ioc', 'scan', 'eicar.ioc', '--scope', join(root, 'no-such-folder')], { home, cwd: root });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^error\[FILE_NOT_FOUND\]: --scope .*no-such-folder/m);

    const mixed = await runSandgate(['ioc', 'scan', 'eicar.ioc', '--scope', 'critical', '--scope', root], { home, cwd: root });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/^error\[USAGE\]/m);
  });

  it("honours the policy's size limit", async () => {
    writeFileSync(join(root, 'eicar.com'), EICAR);
    writeFileSync(join(root, 'eicar.ioc'), eicarIoc());
    const policy = {
      sandbox: { servers: [{ url: 'https://127.0.0.1:8443' }], serverCertificate: 'unused.pem' },
      scan: { maxFileBytes: 10, cpuBudgetPercent: 80 },
    };
    writeFileSync(join(root, 'policy.json'), JSON.stringify(policy));
    const r = await runSandgate(['ioc', 'scan', 'eicar.ioc', '--scope', join(root, 'eicar.com'), '--policy', 'policy.json', '--json'], {
      home,
      cwd: root,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ filesSeen: 1, skippedTooLarge: 1, hashed: 0 });
  });
});

/** An OpenIOC 1.1 file: a listening port, or a DNS cache entry (which no Linux collector produces). */
function portOrDnsIoc(port: number): string {
  return `<?xml version="1.0"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="c2-ioc">
  <metadata><short_description>C2 listener</short_description><authored_date>2026-01-01T00:00:00Z</authored_date></metadata>
  <criteria>
    <Indicator operator="OR" id="top">
      <IndicatorItem id="by-port" condition="is" preserve-case="false" negate="false">
        <Context document="PortItem" search="PortItem/localPort" type="mir"/>
        <Content type="int">${port}</Content>
      </IndicatorItem>
      <IndicatorItem id="by-dns" condition="is" preserve-case="false" negate="false">
        <Context document="DnsEntryItem" search="DnsEntryItem/Host" type="mir"/>
        <Content type="string">c2.example.net</Content>
      </IndicatorItem>
    </Indicator>
  </criteria>
</OpenIOC>
`;
}

/** A TCP listener on 127.0.0.1, held by this test process. */
async function listener(): Promise<{ port: number; close: () => void }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

describe.runIf(process.platform === 'linux')('sandgate ioc scan with socket and DNS terms', () => {
  it('finds the listening socket whatever the scope, and names the DNS term it cannot evaluate instead of counting it', async () => {
    const l = await listener();
    try {
      writeFileSync(join(root, 'c2.ioc'), portOrDnsIoc(l.port));
      const r = await runSandgate(['ioc', 'scan', 'c2.ioc', '--scope', home, '--json'], { home, cwd: root });
      expect(r.code, r.stderr).toBe(1);
      const out = scanOutputSchema.parse(JSON.parse(r.stdout));
      expect(out.matches).toEqual([
        expect.objectContaining({
          document: 'PortItem',
          path: `tcp 127.0.0.1:${l.port} 0.0.0.0:0`,
          area: 'port',
          pid: process.pid,
          iocId: 'c2-ioc',
          terms: [`PortItem/localPort = ${l.port}`],
        }),
      ]);
      expect(out.unsupported).toEqual([
        expect.objectContaining({
          itemId: 'by-dns',
          term: 'DnsEntryItem/Host',
          reason: expect.stringContaining('Linux keeps no system-wide DNS cache Sandgate can read'),
        }),
      ]);
      expect(out.termCounts).toEqual({ evaluated: 1, unsupported: 1 });

      const text = await runSandgate(['ioc', 'scan', 'c2.ioc', '--scope', home], { home, cwd: root });
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`MATCH  tcp 127.0.0.1:${l.port} 0.0.0.0:0  [port, pid ${process.pid}]`);
      expect(text.stdout).toMatch(
        /^1 IOC term\(s\) cannot be evaluated here \(1 can\):\n {2}.*c2\.ioc by-dns: DnsEntryItem\/Host: DnsEntryItem\/Host cannot be evaluated on linux/m,
      );
      expect(text.stderr).toMatch(/1 IOC term\(s\) cannot be evaluated here .*\n.*DnsEntryItem\/Host/);
    } finally {
      l.close();
    }
  });

  // Run as another user, the scan may not look into this (root) process: the socket still matches, with no pid made up.
  const canDrop = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
  it.skipIf(!canDrop)(
    canDrop
      ? "leaves out the owner of another user's socket and says why"
      : 'skipped: needs root and setpriv to run the scan as another user',
    async () => {
      const l = await listener();
      try {
        chmodSync(root, 0o755);
        const nobodyHome = join(root, 'nobody');
        mkdirSync(nobodyHome);
        chownSync(nobodyHome, 65534, 65534);
        writeFileSync(join(root, 'c2.ioc'), portOrDnsIoc(l.port));
        const r = spawnSync(
          'setpriv',
          [
            '--reuid=65534',
            '--regid=65534',
            '--clear-groups',
            process.execPath,
            SHIM,
            'ioc',
            'scan',
            join(root, 'c2.ioc'),
            '--scope',
            nobodyHome,
            '--json',
          ],
          {
            env: { ...process.env, SANDGATE_POLICY: '', HOME: nobodyHome, SANDGATE_HOME: join(nobodyHome, 'home') },
            encoding: 'utf8',
            timeout: 60_000,
          },
        );
        expect(r.status, r.stderr).toBe(1);
        const out = scanOutputSchema.parse(JSON.parse(r.stdout));
        expect(out.matches).toEqual([
          expect.objectContaining({ path: `tcp 127.0.0.1:${l.port} 0.0.0.0:0`, origin: 'LISTEN, owning process not visible' }),
        ]);
        expect(out.matches[0]).not.toHaveProperty('pid');
        expect(out.notExamined).toContainEqual({
          area: 'port',
          what: expect.stringMatching(/^the owning process of \d+ socket\(s\)$/),
          reason: expect.stringMatching(
            /process\(es\) may not be inspected as this user \(run as root to include them\): their PortItem\/pid, process and path are unknown$/,
          ),
        });
      } finally {
        l.close();
      }
    },
  );
});

describe.runIf(process.platform === 'linux')('sandgate scan critical', () => {
  it('finds a running program a sandbox judged malicious, though its file was deleted, and exits 1', async () => {
    const dir = join(root, 'dl');
    mkdirSync(dir);
    const exe = join(dir, 'dropper');
    copyFileSync('/bin/sleep', exe);
    const child = spawn(exe, ['60'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    rmSync(exe);
    try {
      mkdirSync(join(home, 'jobs'));
      const job = {
        jobId: 'job-1',
        state: 'done',
        path: exe,
        sha256: sha(readFileSync('/bin/sleep')),
        size: 1,
        provenance: { source: 'cli' },
        acceptedAt: '2026-01-01T00:00:00.000Z',
        verdict: { level: 'malicious', threat: 'Test-Dropper', server: 'https://127.0.0.1:8443' },
      };
      writeFileSync(join(home, 'jobs', 'finished.jsonl'), JSON.stringify(job) + '\n');
      const r = await runSandgate(['scan', 'critical', '--json'], { home });
      expect(r.code, r.stderr).toBe(1);
      const out = scanOutputSchema.parse(JSON.parse(r.stdout));
      expect(out.knownMaliciousHashes).toBe(1);
      expect(out.matches).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            source: 'verdict',
            iocId: 'verdict:job-1',
            area: 'process',
            pid: child.pid,
            path: exe,
            description: expect.stringContaining('Test-Dropper'),
          }),
        ]),
      );
      expect(r.stderr).toMatch(/^scan: \d+ files seen/m);
    } finally {
      child.kill();
    }
  });

  it('exits 0 with no malicious hash on record, and explains itself in text', async () => {
    const r = await runSandgate(['scan', 'critical'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^No match\.$/m);
    expect(r.stdout).toMatch(/Checked against 0 SHA-256 value\(s\) judged malicious\./);
  });
});
