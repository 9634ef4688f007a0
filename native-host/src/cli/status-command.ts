import { SandgateError, statusResultSchema, type StatusResult } from '@sandgate/shared';
import { connectAgent } from '../ipc/client.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';
import { formatTable } from './format-table.ts';

export const STATUS_HELP = `usage: sandgate status [--json]

The agent service, each sandbox server's health, the request queue and recent verdicts. Does not start the service.
`;

export async function statusCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, positionals, help } = parseCommand(io, args, {});
  if (help) {
    io.out(STATUS_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  const client = await connectAgent({ home: ctx.home, autostart: false });
  try {
    const r = statusResultSchema.safeParse(await client.request('get-status', {}));
    if (!r.success) throw new SandgateError('MESSAGE_INVALID', 'the agent answered get-status with something unexpected');
    if (ctx.json) printJson(io, r.data);
    else io.out(formatStatus(r.data));
    return EXIT.ok;
  } finally {
    client.close();
  }
}

/** A skipped server says so with its code, how many requests went elsewhere and when it is next probed. */
function serverState(v: StatusResult['servers'][number]): string {
  if (!v.skippedUntilProbe) return v.state;
  const parts = [`${v.skippedRequests ?? 0} request(s) sent elsewhere`];
  if (v.nextProbeAt) parts.push(`next probe ${v.nextProbeAt}`);
  return `${v.state}, SERVER_SKIPPED (${parts.join(', ')})`;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export function formatStatus(s: StatusResult): string {
  let out = `service   running (pid ${s.pid}, version ${s.appVersion}, since ${s.startedAt})\nhome      ${s.home}\n`;
  out += `queue     ${s.queue.objects} object(s), ${mib(s.queue.bytes)} of ${mib(s.queue.limitBytes)}\n\n`;
  out += formatTable(
    ['SERVER', 'KIND', 'STATE', 'LAST ERROR'],
    s.servers.map((v) => [v.url, v.kind, serverState(v), v.lastError ? `${v.lastError.code} at ${v.lastError.at}` : '']),
  );
  if (s.recent.length) {
    out +=
      '\n' +
      formatTable(
        ['JOB', 'STATE', 'VERDICT', 'PATH'],
        s.recent.map((j) => [j.jobId, j.state, j.level ? `${j.level}${j.threat ? ` (${j.threat})` : ''}` : '', j.path]),
      );
  }
  return out;
}
