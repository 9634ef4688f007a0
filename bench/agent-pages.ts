/**
 * The web console's workstations view at fleet size (issue 17: "server-side paging that stays fast at 20,000"): one
 * page of `GET /api/agents` as the console reads it (`pageAgents`: filtered, sorted, counted by state, in the
 * database) on a throw-away PostgreSQL server holding N workstations, against the plainest page the same table can
 * give in the same run (`SELECT * FROM agents ORDER BY hostname LIMIT 100`: no join, no count, no filter). Each query
 * runs `--runs` times, alternating with the baseline; medians. The HTTP layer and the page's rendering are not in it.
 *
 *   npx node bench/agent-pages.ts [--agents 20000] [--runs 30]
 */
import { agentsQuerySchema } from '@sandgate/shared';
import { openPostgresDb } from '#console/db/postgres-db.ts';
import { migrate } from '#console/db/migrate.ts';
import { pageAgents } from '#console/agents/agents.ts';
import { startTempPostgres } from '../test/helpers/postgres.ts';
import { table, writeResult } from './lib/report.ts';
import { median, percentile } from './lib/stats.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('agents', 20_000);
const RUNS = arg('runs', 30);

const server = startTempPostgres();
const db = await openPostgresDb(server.createDatabase('pages'), { max: 2 });
try {
  await migrate(db);
  await db.query(`INSERT INTO groups (name) VALUES ('office'), ('lab')`);
  // As the unit test's fleet (test/unit/console/agent-pages.test.ts), at N: every 10th online, every 100th revoked.
  await db.query(
    `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, group_id, app_version, host,
                         last_seen_at, heartbeat_ms, revoked_at)
     SELECT 'agent-' || lpad(i::text, 6, '0'), 'ws-' || lpad(i::text, 6, '0'), 'serial-' || i, 'sha',
            now() + (i || ' days')::interval,
            (SELECT id FROM groups WHERE name = CASE WHEN i % 2 = 0 THEN 'office' ELSE 'lab' END),
            CASE WHEN i % 3 = 0 THEN '0.2.0' ELSE '0.1.0' END, '{"hostname":"x","platform":"linux","release":"6","arch":"x64"}',
            CASE WHEN i % 10 = 0 THEN now() ELSE now() - interval '1 hour' END, 30000,
            CASE WHEN i % 100 = 0 THEN now() ELSE NULL END
       FROM generate_series(1, ${N}) AS i`,
  );
  await db.query('ANALYZE');

  const views: Array<[string, Record<string, string>]> = [
    ['first page, by host name', { limit: '100' }],
    ['last page, by host name', { limit: '100', offset: String(N - 100) }],
    ['by last seen, newest first', { limit: '100', sort: 'last_seen', order: 'desc' }],
    ['online only', { limit: '100', state: 'online' }],
    ['search a host name', { limit: '100', q: 'ws-012345' }],
    ['search a group name', { limit: '100', q: 'office' }],
  ];
  const baseline = () => db.query('SELECT * FROM agents ORDER BY hostname LIMIT 100');
  const time = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  const base: number[] = [];
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const samples = new Map<string, number[]>(views.map(([name]) => [name, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const [name, q] of views) {
      base.push(await time(baseline));
      samples.get(name)!.push(await time(() => pageAgents(db, agentsQuerySchema.parse(q))));
    }
  }
  const b = median(base);
  rows.push(['plain page of 100 rows (baseline)', base.length, b.toFixed(1), percentile(base, 95).toFixed(1), '1.00']);
  for (const [name] of views) {
    const s = samples.get(name)!;
    rows.push([name, s.length, median(s).toFixed(1), percentile(s, 95).toFixed(1), (median(s) / b).toFixed(2)]);
    results.push({ view: name, medianMs: median(s), p95Ms: percentile(s, 95) });
  }
  process.stdout.write(`${N} workstations on PostgreSQL; one page of 100 each\n\n`);
  process.stdout.write(table(['workstations view (ms)', 'n', 'median', 'p95', '× baseline'], rows) + '\n');
  process.stdout.write(`result: ${writeResult('agent-pages', { agents: N, runs: RUNS, baselineMs: b, views: results })}\n`);
} finally {
  await db.close();
  server.stop();
}
