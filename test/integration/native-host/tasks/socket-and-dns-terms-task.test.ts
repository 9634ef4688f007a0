import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IocScanTask, TaskProgress } from '@sandgate/shared';
import { createAgent } from '#native-host/agent/agent.ts';
import { formatTask } from '#native-host/cli/ioc-command.ts';
import { GroupTaskAgent } from '#native-host/console/group-task-agent.ts';
import { silentLogger } from '#native-host/log.ts';
import { policyFor, useTaskWorkspace } from './task-fixtures.ts';

// A console group task whose IOC (as generated from a sandbox verdict) names a C2 port and a C2 host name. On Linux the
// port is looked for in the sockets whatever the task's scope; the host name would need a DNS cache, which Linux does
// not keep: the task record and the report to the console name that term instead of passing over it in silence.

const ws = useTaskWorkspace('sg-port-task-', { consoleFolder: true });

function c2Ioc(port: number): string {
  return `<?xml version="1.0"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="c2-ioc">
  <metadata><short_description>C2 listener</short_description><authored_date>2026-01-01T00:00:00Z</authored_date></metadata>
  <criteria><Indicator operator="OR" id="top">
    <IndicatorItem id="by-port" condition="is" preserve-case="false" negate="false"><Context document="PortItem" search="PortItem/localPort" type="mir"/><Content type="int">${port}</Content></IndicatorItem>
    <IndicatorItem id="by-dns" condition="is" preserve-case="false" negate="false"><Context document="DnsEntryItem" search="DnsEntryItem/Host" type="mir"/><Content type="string">c2.example.net</Content></IndicatorItem>
  </Indicator></criteria>
</OpenIOC>`;
}

describe.runIf(process.platform === 'linux')('a group task with socket and DNS terms on a Linux workstation', () => {
  it('matches the listening socket, and the task record and the console report name the DNS term it cannot evaluate', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    ws.cleanups.push(() => void server.close());
    const port = (server.address() as AddressInfo).port;
    const scope = join(ws.root, 'data');
    mkdirSync(scope);

    const agent = await createAgent({
      home: ws.home,
      loaded: await policyFor(ws.root, ws.server),
      appVersion: 'test',
      tasks: { idleSources: [] },
    });
    ws.cleanups.push(() => agent.close());
    const reports: TaskProgress[] = [];
    const groupTasks = new GroupTaskAgent({
      home: ws.home,
      agentId: 'agent-1',
      log: silentLogger,
      report: async (p) => void reports.push(p),
      tasks: () => agent.tasks,
    });
    const share: IocScanTask = {
      type: 'ioc-scan',
      id: randomUUID(),
      groupTaskId: randomUUID(),
      ioc: c2Ioc(port),
      sha256: 'a'.repeat(64),
      witnessed: true,
      scope: [scope],
      runMode: 'afterThreat',
      onMatch: { quarantine: true, criticalAreasScan: false },
      dryRun: false,
      neverQuarantine: { paths: [], sha256: [], publishers: [] },
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    };
    await groupTasks.handle([share]);
    let done: TaskProgress | undefined;
    while (!done) {
      await groupTasks.reportChanges();
      done = reports.find((r) => r.state === 'done' || r.state === 'failed');
      if (!done) await new Promise((r) => setTimeout(r, 20));
    }

    // What the console hears: the socket (a socket is reported, not quarantined) and the term it cannot evaluate.
    expect(done).toMatchObject({
      state: 'done',
      matches: [{ path: `tcp 127.0.0.1:${port} 0.0.0.0:0`, action: 'reported' }],
      unsupported: [
        { itemId: 'by-dns', term: 'DnsEntryItem/Host', reason: expect.stringContaining('Linux keeps no system-wide DNS cache') },
      ],
      termCounts: { evaluated: 1, unsupported: 1 },
    });
    // The first report already says it, whether the scan had started by then or not: the console knows before the end.
    expect(reports[0]).toMatchObject({
      state: expect.stringMatching(/^(received|running)$/),
      unsupported: [{ term: 'DnsEntryItem/Host' }],
    });

    // What `sandgate ioc task show` says.
    const [summary] = agent.tasks!.list();
    const task = agent.tasks!.get(summary!.id);
    expect(task.unsupported).toEqual([expect.objectContaining({ itemId: 'by-dns', term: 'DnsEntryItem/Host' })]);
    expect(task.termCounts).toEqual({ evaluated: 1, unsupported: 1 });
    expect(task.matches).toEqual([expect.objectContaining({ document: 'PortItem', area: 'port', pid: process.pid })]);
    const text = formatTask(task);
    expect(text).toContain('1 IOC term(s) cannot be evaluated here (1 can):');
    expect(text).toMatch(
      /by-dns: DnsEntryItem\/Host: DnsEntryItem\/Host cannot be evaluated on linux: Linux keeps no system-wide DNS cache/,
    );
  });
});
