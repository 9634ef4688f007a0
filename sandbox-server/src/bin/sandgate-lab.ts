import { SandgateError, toWireError } from '@sandgate/shared';
import { parseServeArgs, USAGE } from '../cli/serve-args.ts';
import { startLab } from '../lab-server.ts';
import { stderrLogger } from '../log.ts';

/** Entry point of `sandgate-lab`: wires the argument parser, the server and the signals; nothing else. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command !== 'serve') throw new SandgateError('USAGE', command ? `unknown command: ${command}` : 'missing command (serve)');
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const args = parseServeArgs(rest);
  const log = stderrLogger((process.env.SANDGATE_LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? 'info', 'sandgate-lab');
  const lab = await startLab({
    port: args.port,
    host: args.host,
    dataDir: args.dataDir,
    ...(args.tlsCert !== undefined && args.tlsKey !== undefined ? { tlsCert: args.tlsCert, tlsKey: args.tlsKey } : {}),
    ...(args.clientCa !== undefined ? { clientCa: args.clientCa } : {}),
    ...(args.maxUploadBytes !== undefined ? { maxUploadBytes: args.maxUploadBytes } : {}),
    keepObjects: args.keepObjects,
    limits: args.limits,
    log,
  });
  // The token's path is printed, never the token: this output often ends up in a service manager's journal.
  if (args.json) {
    process.stdout.write(
      JSON.stringify({ url: lab.url, port: lab.port, certPath: lab.certPath, tokenPath: lab.tokenPath, dataDir: args.dataDir }) + '\n',
    );
  } else {
    process.stdout.write(
      `sandgate-lab listening on ${lab.url}\n` +
        `certificate (pin it as sandbox.serverCertificate): ${lab.certPath}\n` +
        `client token (each agent's servers[].token; keep it secret): ${lab.tokenPath}\n` +
        (args.clientCa !== undefined ? `client certificates issued by ${args.clientCa} are served too\n` : '') +
        `data: ${args.dataDir} (rules in rules/*.yar, SHA-256 blocklist in blocklist.txt)\n` +
        `static analysis only; press Ctrl-C to stop\n`,
    );
  }
  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      // A wrapper forwarding the terminal's SIGINT can deliver it twice; only the first one starts the shutdown.
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      const force = setTimeout(() => done(0), 10_000);
      force.unref();
      lab.close().then(
        () => done(0),
        (err) => {
          log.error('close failed', { err: String(err) });
          done(2);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const wire = err instanceof SandgateError ? err.toWire() : toWireError(err);
    process.stderr.write(`error[${wire.code}]: ${wire.message}\n`);
    if (wire.code === 'USAGE') process.stderr.write(USAGE);
    process.exit(2);
  },
);
