import { resolve } from 'node:path';
import { z } from 'zod';
import { SandgateError, type Policy } from '@sandgate/shared';
import { findPolicyFile, loadPolicyFile } from '../config/load-policy.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';

export const POLICY_HELP = `usage: sandgate policy check FILE
       sandgate policy show [--policy FILE]

check validates FILE (schema, and that its certificates can be read): exit 0 and "valid", or exit 2 with every issue.
show prints the effective policy, defaults filled in, secrets redacted.
`;

const issuesSchema = z.array(z.object({ key: z.string(), message: z.string() }));

export async function policyCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, positionals, help } = parseCommand(io, args, {});
  const [sub, file, ...extra] = positionals;
  if (help || !sub) {
    io.out(POLICY_HELP);
    return help ? EXIT.ok : EXIT.error;
  }
  if (extra.length) throw usage(`unexpected arguments: ${extra.join(' ')}`);
  switch (sub) {
    case 'check': {
      if (!file) throw usage('sandgate policy check needs a FILE');
      const path = resolve(io.cwd, file);
      try {
        await loadPolicyFile(path);
      } catch (err) {
        if (!(err instanceof SandgateError)) throw err;
        const issues = issuesOf(err);
        if (ctx.json) printJson(io, { valid: false, path, issues, error: { code: err.code, message: err.message } });
        io.err(`error[${err.code}]: ${path} is not a usable policy\n`);
        for (const i of issues) io.err(`  ${i.key || '(top level)'}: ${i.message}\n`);
        return EXIT.error;
      }
      if (ctx.json) printJson(io, { valid: true, path });
      else io.out(`valid: ${path}\n`);
      return EXIT.ok;
    }
    case 'show': {
      if (file) throw usage(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
      const path = findPolicyFile({ home: ctx.home, env: io.env, ...(ctx.policyPath ? { explicit: ctx.policyPath } : {}) });
      const { policy } = await loadPolicyFile(path);
      const shown = redactPolicy(policy);
      if (ctx.json) printJson(io, { path, policy: shown });
      else io.out(`# effective policy from ${path}\n${JSON.stringify(shown, null, 2)}\n`);
      return EXIT.ok;
    }
    default:
      throw usage(`unknown policy command "${sub}" (check, show)`);
  }
}

/** The issues a loader error carries: every zod issue for POLICY_INVALID, the one key for certificate problems. */
function issuesOf(err: SandgateError): Array<{ key: string; message: string }> {
  const listed = issuesSchema.safeParse(err.params?.issues);
  if (listed.success && listed.data.length) return listed.data;
  const key = typeof err.params?.key === 'string' ? err.params.key : '';
  return [{ key, message: err.message }];
}

/** Tokens and passphrases are replaced; paths and certificates are not secret and stay. */
export function redactPolicy(policy: Policy): unknown {
  const copy = structuredClone(policy) as Policy;
  const servers = copy.sandbox.servers.map((s) => (s.token ? { ...s, token: '[redacted]' } : s));
  const cc = copy.sandbox.clientCertificate;
  const clientCertificate = cc && cc.passphrase !== undefined ? { ...cc, passphrase: '[redacted]' } : cc;
  return { ...copy, sandbox: { ...copy.sandbox, servers, ...(clientCertificate ? { clientCertificate } : {}) } };
}
