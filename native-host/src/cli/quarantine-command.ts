import { resolve, sep } from 'node:path';
import { appVersion } from './app-version.ts';
import { EXPORT_DEFAULT_PASSWORD } from '../quarantine/export-item.ts';
import type { ItemMetadata } from '../quarantine/item-metadata.ts';
import { QuarantineStore } from '../quarantine/quarantine-store.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';
import { formatTable } from './format-table.ts';

export const QUARANTINE_HELP = `usage: sandgate quarantine list
       sandgate quarantine show ID
       sandgate quarantine restore ID [--to PATH]
       sandgate quarantine delete ID
       sandgate quarantine export ID --out FILE [--password PASSWORD]

Works directly on the quarantine store of $SANDGATE_HOME. restore never overwrites an existing file and never writes
through a symbolic link; --to takes a folder (the original name is kept) or a new file path.
export writes a ZIP for a second opinion, encrypted the way analysts exchange samples (traditional ZIP encryption,
password "infected" unless --password): <sha256>.<ext> and <sha256>.json. The item stays in quarantine.
`;

/** `sandgate quarantine …`: operates on the store directly, so it works whether or not the agent runs. */
export async function quarantineCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, {
    to: { type: 'string' },
    out: { type: 'string' },
    password: { type: 'string' },
  });
  const [sub, id, ...extra] = positionals;
  if (help || !sub) {
    io.out(QUARANTINE_HELP);
    return help ? EXIT.ok : EXIT.error;
  }
  const needId = () => {
    if (!id) throw usage(`sandgate quarantine ${sub} needs an item ID (see sandgate quarantine list)`);
    if (extra.length) throw usage(`unexpected arguments: ${extra.join(' ')}`);
    return id;
  };
  const store = () => QuarantineStore.open(ctx.home);
  switch (sub) {
    case 'list': {
      if (id) throw usage(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
      const { items, corrupt } = store().listItems();
      if (corrupt.length)
        io.err(`warning: ${corrupt.length} item(s) failed their integrity check and are not listed: ${corrupt.join(', ')}\n`);
      if (ctx.json) printJson(io, items);
      else if (items.length === 0) io.out('The quarantine is empty.\n');
      else
        io.out(
          formatTable(
            ['ID', 'QUARANTINED', 'THREAT', 'SIZE', 'ORIGINAL PATH'],
            items.map((i) => [i.id, i.quarantinedAt, i.threat ?? i.level, String(i.size), i.originalPath]),
          ),
        );
      return EXIT.ok;
    }
    case 'show': {
      const meta = store().show(needId());
      if (ctx.json) printJson(io, meta);
      else io.out(describe(meta));
      return EXIT.ok;
    }
    case 'restore': {
      const itemId = needId();
      const to = typeof values.to === 'string' ? values.to : undefined;
      const { path } = await store().restore(itemId, to === undefined ? {} : { to: resolve(io.cwd, to) + (/[\\/]$/.test(to) ? sep : '') });
      if (ctx.json) printJson(io, { id: itemId, path });
      else io.out(`Restored ${itemId} to ${path}\n`);
      return EXIT.ok;
    }
    case 'delete': {
      const itemId = needId();
      await store().delete(itemId);
      if (ctx.json) printJson(io, { id: itemId, deleted: true });
      else io.out(`Deleted ${itemId}\n`);
      return EXIT.ok;
    }
    case 'export': {
      const itemId = needId();
      if (typeof values.out !== 'string' || !values.out) throw usage('sandgate quarantine export needs --out FILE');
      const password = typeof values.password === 'string' ? values.password : EXPORT_DEFAULT_PASSWORD;
      if (!password) throw usage('--password must not be empty');
      const r = await store().export(itemId, resolve(io.cwd, values.out), { password, appVersion: appVersion() });
      if (ctx.json) printJson(io, { id: itemId, path: r.path, sha256: r.sha256, entries: r.entries, password });
      else io.out(`Exported ${itemId} to ${r.path} (ZIP, password "${password}"): ${r.entries.join(', ')}\n`);
      return EXIT.ok;
    }
    default:
      throw usage(`unknown quarantine command "${sub}" (list, show, restore, delete, export)`);
  }
}

function describe(m: ItemMetadata): string {
  const rows: Array<[string, string | number | undefined]> = [
    ['id', m.id],
    ['original path', m.originalPath],
    ['quarantined at', m.quarantinedAt],
    ['reason', m.reason],
    ['verdict', m.verdict.level],
    ['threat', m.verdict.threat],
    ['server', m.verdict.server],
    ['size', m.size],
    ['sha256', m.sha256],
    ['sha1', m.sha1],
    ['md5', m.md5],
    ['owner', `uid ${m.owner.uid}, gid ${m.owner.gid}`],
    ['mode', m.mode.toString(8).padStart(4, '0')],
    ['modified', new Date(m.mtimeMs).toISOString()],
    ['source url', m.source.url],
    ['final url', m.source.finalUrl],
    ['referrer', m.source.referrer],
    ['download id', m.source.downloadId],
    ['job', m.jobId],
  ];
  return rows
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k.padEnd(15)} ${v}\n`)
    .join('');
}
