import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { SandgateError } from '@sandgate/shared';
import { LIMIT_OPTIONS, LIMIT_USAGE, parseLimitArgs, type LimitArgs } from './limit-args.ts';

export interface ServeArgs extends LimitArgs {
  port: number;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  dataDir: string;
  json: boolean;
}

export const USAGE = `usage: sandgate-lab serve [--port N] [--host H] [--tls-cert PEM --tls-key PEM] [--data DIR] [--json]
                          [--client-ca PEM] [--keep-objects] [limits…]

  --port N       port to listen on (default 8443; 0 picks a free one)
  --host H       address or name to bind (default 127.0.0.1; 0.0.0.0 or :: to serve the network; an IPv6
                 address with or without brackets: ::1 or [::1]); the certificate the lab makes names it
  --tls-cert PEM --tls-key PEM
                 serve this certificate; without them the lab makes a self-signed one on first start
  --data DIR     analyses, certificate, rules/ and blocklist.txt (default $SANDGATE_LAB_HOME or
                 ~/.local/state/sandgate-lab)
  --json         print {"url","port","certPath","tokenPath","dataDir"} as one JSON line once listening
${LIMIT_USAGE}`;

/** The lab's data folder when --data is not given. */
export function defaultLabHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SANDGATE_LAB_HOME) return resolve(env.SANDGATE_LAB_HOME);
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'sandgate-lab');
}

/** Parses the arguments after `serve`; throws USAGE errors the CLI prints as `error[USAGE]: …`. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        data: { type: 'string' },
        json: { type: 'boolean' },
        ...LIMIT_OPTIONS,
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new SandgateError('USAGE', (err as Error).message);
  }
  const portText = (values.port as string | undefined) ?? '8443';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new SandgateError('USAGE', `--port takes 0–65535, not ${portText}`);
  const tlsCert = values['tls-cert'] as string | undefined;
  const tlsKey = values['tls-key'] as string | undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new SandgateError('USAGE', '--tls-cert and --tls-key go together');
  return {
    port,
    host: bindHost(values.host as string | undefined),
    ...(tlsCert !== undefined ? { tlsCert: resolve(tlsCert) } : {}),
    ...(tlsKey !== undefined ? { tlsKey: resolve(tlsKey) } : {}),
    dataDir: values.data !== undefined ? resolve(values.data as string) : defaultLabHome(env),
    json: values.json === true,
    ...parseLimitArgs(values),
  };
}

/** The address to listen on. Brackets are how an IPv6 address is written in a URL, so people type them here too. */
function bindHost(raw: string | undefined): string {
  if (raw === undefined) return '127.0.0.1';
  const bare = raw.replace(/^\[(.*)\]$/, '$1');
  if (bare.includes(':') && !isIPv6(bare))
    throw new SandgateError('USAGE', `--host takes an IPv4 or IPv6 address or a host name, not ${raw}`);
  return bare;
}
