import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach } from 'vitest';
import { dirname, join } from 'node:path';
import type { IocScanTask, PolicyInput, TaskProgress } from '@sandgate/shared';
import type { Agent } from '#native-host/agent/agent.ts';
import { GroupTaskAgent } from '#native-host/console/group-task-agent.ts';
import { silentLogger } from '#native-host/log.ts';
import { loadPolicyFile, type LoadedPolicy } from '#native-host/config/load-policy.ts';
import { startLab, type RunningLab } from '#lab/lab-server.ts';

export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
export const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** A real sandgate-lab on a free loopback port, with its own self-signed certificate. */
export function lab(dir: string): Promise<RunningLab> {
  return startLab({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'lab') });
}

/** The policy file an administrator would write, loaded the way `sandgate serve` loads it. */
export async function policyFor(dir: string, l: RunningLab, extra: Partial<PolicyInput> = {}): Promise<LoadedPolicy> {
  const path = join(dir, 'policy.json');
  writeFileSync(path, JSON.stringify({ sandbox: { servers: [{ url: l.url, token: l.token }], serverCertificate: l.certPath }, ...extra }));
  return loadPolicyFile(path);
}

/** An OpenIOC 1.1 file hunting one SHA-256 (no size or name term: every file in scope has to be read). */
export function hashIoc(hex: string, id = 'hash-hunt'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="${id}" last-modified="2026-11-01T00:00:00Z">
  <metadata><short_description>one hash</short_description><authored_by>test</authored_by></metadata>
  <criteria>
    <Indicator operator="OR" id="i1">
      <IndicatorItem id="t1" condition="is"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="sha256">${hex}</Content></IndicatorItem>
      <IndicatorItem id="t2" condition="is"><Context document="FileItem" search="FileItem/PEInfo/DigitalSignature/SignatureExists" type="mir"/><Content type="bool">false</Content></IndicatorItem>
    </Indicator>
  </criteria>
</OpenIOC>
`;
}

/** `n` small distinct files spread over nested folders, returned in no particular order. */
export function makeTree(root: string, n: number): string[] {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(root, `d${i % 7}`, `s${i % 13}`, `f${String(i).padStart(5, '0')}.dat`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, `file ${i}\n`);
    paths.push(p);
  }
  return paths;
}

export async function until<T>(probe: () => T | undefined | false): Promise<T> {
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An OpenIOC 1.1 file hunting any of these SHA-256 values. */
export function hashesIoc(hashes: string[]): string {
  const items = hashes
    .map(
      (h, i) =>
        `<IndicatorItem id="t${i}" condition="is"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="sha256">${h}</Content></IndicatorItem>`,
    )
    .join('\n      ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="hashes-hunt" last-modified="2026-11-01T00:00:00Z">
  <metadata><short_description>several hashes</short_description><authored_by>test</authored_by></metadata>
  <criteria>
    <Indicator operator="OR" id="i1">
      ${items}
    </Indicator>
  </criteria>
</OpenIOC>
`;
}

/**
 * A console group task's share for `agent`, run to the end as the console channel runs it (GroupTaskAgent), hunting
 * `hashes` under `scope` (or whatever `ioc` says); its object is the last hash, quarantined (the share says the
 * console has a second witness) unless `neverQuarantine` says otherwise. Its final report.
 */
export async function runConsoleShare(o: {
  home: string;
  agent: Agent;
  hashes: string[];
  scope: string;
  neverQuarantine?: Partial<IocScanTask['neverQuarantine']>;
  ioc?: string;
}): Promise<TaskProgress> {
  const reports: TaskProgress[] = [];
  const groupTasks = new GroupTaskAgent({
    home: o.home,
    agentId: 'agent-1',
    log: silentLogger,
    report: async (p) => void reports.push(p),
    tasks: () => o.agent.tasks,
  });
  const share: IocScanTask = {
    type: 'ioc-scan',
    id: randomUUID(),
    groupTaskId: randomUUID(),
    ioc: o.ioc ?? hashesIoc(o.hashes),
    sha256: o.hashes.at(-1)!,
    witnessed: true,
    scope: [o.scope],
    runMode: 'afterThreat',
    onMatch: { quarantine: true, criticalAreasScan: false },
    dryRun: false,
    neverQuarantine: { paths: [], sha256: [], publishers: [], ...o.neverQuarantine },
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
  };
  await groupTasks.handle([share]);
  for (;;) {
    await groupTasks.reportChanges();
    const done = reports.find((r) => r.state === 'done' || r.state === 'failed');
    if (done) return done;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Per test: a fresh folder (`root`), an agent home in it (0700; with its `console` folder when asked), and a lab;
 * everything pushed on `cleanups` (the lab first) is undone after the test, newest first. Read the fields inside
 * tests, not at import.
 */
export function useTaskWorkspace(
  prefix: string,
  o: { consoleFolder?: boolean } = {},
): { root: string; home: string; server: RunningLab; cleanups: Array<() => Promise<void> | void> } {
  const w = { root: '', home: '', server: undefined as unknown as RunningLab, cleanups: [] as Array<() => Promise<void> | void> };
  beforeEach(async () => {
    w.root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    w.home = join(w.root, 'home');
    mkdirSync(w.home, { mode: 0o700 });
    if (o.consoleFolder) mkdirSync(join(w.home, 'console'), { mode: 0o700 });
    w.server = await lab(w.root);
    w.cleanups.push(() => w.server.close());
  });
  afterEach(async () => {
    while (w.cleanups.length) await w.cleanups.pop()!();
    rmSync(w.root, { recursive: true, force: true });
  });
  return w;
}
