import { readFileSync } from 'node:fs';
import { compileIocFilesForThisHost } from '#native-host/scan/host-term-limits.ts';
import { runScan } from '#native-host/scan/run-scan.ts';
const T = '/tmp/sg-bench-ioc-tree-20000-0.35';
const { set } = compileIocFilesForThisHost([{ file: '/tmp/iocw/hash.ioc', bytes: readFileSync('/tmp/iocw/hash.ioc') }]);
const res: Record<string, number[]> = {};
for (let r = 0; r < 8; r++) {
  const threads = r % 2 ? 0 : 2;
  const c0 = process.cpuUsage(); const m0 = process.threadCpuUsage();
  await runScan({ kind: 'ioc', scope: [T], indicators: [{ set, source: 'ioc' }], maxFileBytes: 1 << 30, cpuBudgetPercent: 100, hashThreads: threads });
  const c = process.cpuUsage(c0); const m = process.threadCpuUsage(m0);
  (res[`t${threads} total`] ??= []).push(Math.round((c.user + c.system) / 1000));
  (res[`t${threads} main`] ??= []).push(Math.round((m.user + m.system) / 1000));
}
console.log(process.env.BF, JSON.stringify(res));
