import { EXIT, reportError, usage, type CliIo } from './cli-io.ts';
import { wantsJson } from './cli-context.ts';
import { MAIN_HELP } from './help-text.ts';
import { appVersion } from './app-version.ts';
type Command = (io: CliIo, args: string[]) => Promise<number>;

// Loaded on demand: `sandgate quarantine list` must not pay for (or break on) the agent's modules.
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve-command.ts')).serveCommand,
  submit: async () => (await import('./submit-command.ts')).submitCommand,
  status: async () => (await import('./status-command.ts')).statusCommand,
  events: async () => (await import('./events-command.ts')).eventsCommand,
  quarantine: async () => (await import('./quarantine-command.ts')).quarantineCommand,
  policy: async () => (await import('./policy-command.ts')).policyCommand,
  install: async () => (await import('./install-command.ts')).installCommand,
  uninstall: async () => (await import('./install-command.ts')).uninstallCommand,
  doctor: async () => (await import('./doctor-command.ts')).doctorCommand,
  scan: async () => (await import('./scan-command.ts')).scanCommand,
  ioc: async () => (await import('./ioc-command.ts')).iocCommand,
  enroll: async () => (await import('./enroll-command.ts')).enrollCommand,
};

/** Options that take a value, so the command word is not mistaken for one. */
const VALUE_OPTIONS = new Set([
  '--cpu-budget',
  '--policy',
  '--to',
  '--out',
  '--password',
  '--browser',
  '--scope',
  '--profile-dir',
  '--home',
  '--os',
  '--root',
  '--ca-fingerprint',
  '--run-mode',
]);

/** Runs one command line and returns the exit status; never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const json = wantsJson(argv);
  try {
    let at = -1;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (VALUE_OPTIONS.has(a)) i++;
      else if (!a.startsWith('-')) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      // The bin shim answers `sandgate --version` before loading any of this; this is for the entry run directly.
      if (argv.includes('--version')) {
        io.out(`sandgate ${appVersion()}\n`);
        return EXIT.ok;
      }
      if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) {
        io.out(MAIN_HELP);
        return argv.length === 0 ? EXIT.error : EXIT.ok;
      }
      throw usage(`no command given (sandgate --help lists them)`);
    }
    const name = argv[at]!;
    const load = COMMANDS[name];
    if (!load) throw usage(`unknown command "${name}" (sandgate --help lists them)`);
    const command = await load();
    return await command(io, [...argv.slice(0, at), ...argv.slice(at + 1)]);
  } catch (err) {
    return reportError(io, err, json);
  }
}
