import { enrollWithConsole } from '../console/enroll.ts';
import { appVersion } from './app-version.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';

export const ENROLL_HELP = `usage: sandgate enroll URL TOKEN [--ca-fingerprint SHA256]

Joins the console at URL (https://host:port, the console's agent port) with a one-time TOKEN from
"sandgate-console token create". The agent makes its own key pair, sends a certificate request with the token and
keeps the client certificate the console's CA issues, in $SANDGATE_HOME/console/ (0700; key and certificates 0600).
From then on "sandgate serve" speaks to the console over mutual TLS only: heartbeats, events, its group's policy.

--ca-fingerprint SHA256   the console CA's SHA-256 fingerprint, as "token create" prints it. The token is sent only
                          after the console proves to hold that CA. Without it the CA is trusted as first seen and
                          its fingerprint is printed: compare it with the one the console shows before relying on it.
`;

export async function enrollCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, positionals, values, help } = parseCommand(io, args, { 'ca-fingerprint': { type: 'string' } });
  if (help) {
    io.out(ENROLL_HELP);
    return EXIT.ok;
  }
  const [url, token, ...extra] = positionals;
  if (!url || !token) throw usage('sandgate enroll needs the console URL and a token (sandgate enroll --help)');
  if (extra.length) throw usage(`unexpected arguments: ${extra.join(' ')}`);
  const fp = typeof values['ca-fingerprint'] === 'string' ? values['ca-fingerprint'] : undefined;
  const r = await enrollWithConsole({ home: ctx.home, url, token, caFingerprint: fp, appVersion: appVersion() });
  if (ctx.json) {
    printJson(io, { ...r.enrollment, trustedOnFirstUse: r.trustedOnFirstUse });
  } else {
    io.out(
      `enrolled with ${r.enrollment.url} as agent ${r.enrollment.agentId}${r.enrollment.group ? ` in group ${r.enrollment.group}` : ''}\n`,
    );
    io.out(`console CA fingerprint (SHA-256): ${r.enrollment.caFingerprint}\n`);
    if (r.trustedOnFirstUse)
      io.err('warning: the console CA was trusted on first use; compare the fingerprint above with the one the console prints\n');
    io.out('restart "sandgate serve" (or let its service manager do it) to connect\n');
  }
  return EXIT.ok;
}
