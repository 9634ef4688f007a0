import { SandgateError, toWireError } from '@sandgate/shared';

/** Where a command writes. Stdout carries results only (text or --json); everything else goes to stderr. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Resolves when the user asks the command to stop (SIGINT/SIGTERM). */
  readonly interrupted: Promise<string>;
}

export function processIo(): CliIo {
  let interrupted: Promise<string> | undefined;
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
    // Signal handlers are installed only by commands that wait for one: installing them replaces Node's default
    // "exit on Ctrl-C", which every other command should keep.
    get interrupted() {
      interrupted ??= new Promise<string>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve(sig));
      });
      return interrupted;
    },
  };
}

/** Exit statuses as PRODUCT.md fixes them. */
export const EXIT = { ok: 0, threat: 1, error: 2 } as const;

export function usage(message: string): SandgateError {
  return new SandgateError('USAGE', message);
}

/** `error[CODE]: message` on stderr; with --json also `{"error":{"code","message"}}` on stdout. */
export function reportError(io: CliIo, err: unknown, json: boolean): number {
  const wire = toWireError(err);
  io.err(`error[${wire.code}]: ${wire.message}\n`);
  if (json) io.out(JSON.stringify({ error: { code: wire.code, message: wire.message } }) + '\n');
  return EXIT.error;
}

export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value) + '\n');
}
