import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { sandgateHome } from '../config/paths.ts';
import type { CliIo } from './cli-io.ts';
import { usage } from './cli-io.ts';

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  policy: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  io: CliIo;
  json: boolean;
  /** Absolute `--policy` path when given. */
  policyPath: string | undefined;
  home: string;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's arguments with the common options mixed in; anything unknown is a USAGE error. */
export function parseCommand<O extends Options>(io: CliIo, args: string[], options: O) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw usage((err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const ctx: CommandContext = {
    io,
    json: values.json === true,
    policyPath: typeof values.policy === 'string' ? resolve(io.cwd, values.policy) : undefined,
    home: sandgateHome(io.env),
  };
  return { ctx, values, positionals: parsed.positionals, help: values.help === true };
}

/** Where --json is on the command line, before parsing (so a parse error can still be reported as JSON). */
export function wantsJson(args: string[]): boolean {
  return args.includes('--json');
}
