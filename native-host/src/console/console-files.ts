import { createPublicKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { lazySchema } from '@sandgate/shared';
import { SandgateError } from '@sandgate/shared';
import { writeFileAtomic } from '@sandgate/shared/durable-write';

/**
 * What enrollment leaves in `$SANDGATE_HOME/console/` (folder 0700, files 0600): the agent's private key (made here,
 * never sent), its client certificate, the console CA it pins, and where the console is.
 */
export function consoleDir(home: string): string {
  return join(home, 'console');
}

export const consoleFiles = (home: string) => ({
  dir: consoleDir(home),
  key: join(consoleDir(home), 'agent-key.pem'),
  cert: join(consoleDir(home), 'agent-cert.pem'),
  /**
   * The key of a renewal under way (0600), written before the request is sent: after a lost answer the agent asks
   * again for the same key, and after a crash between the new certificate and the key being moved into place, the
   * pair is completed from it.
   */
  pendingKey: join(consoleDir(home), 'agent-key.next.pem'),
  ca: join(consoleDir(home), 'console-ca.pem'),
  enrollment: join(consoleDir(home), 'enrollment.json'),
  /** How far the event log has been delivered (byte offset). */
  cursor: join(consoleDir(home), 'event-cursor.json'),
  /** The group policy revision last applied. */
  policyState: join(consoleDir(home), 'policy-state.json'),
});

export const enrollmentSchema = lazySchema(() =>
  z.object({
    url: z.string().url(),
    agentId: z.string().uuid(),
    caFingerprint: z.string(),
    enrolledAt: z.string(),
    group: z.string().optional(),
  }),
);
export type Enrollment = z.infer<typeof enrollmentSchema>;

export interface ConsoleCredentials {
  enrollment: Enrollment;
  key: string;
  cert: string;
  ca: string;
}

export function ensureConsoleDir(home: string): void {
  const dir = consoleDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** The stored enrollment, or undefined when this agent never enrolled. A half-written one is an error, not "never". */
export function readCredentials(home: string): ConsoleCredentials | undefined {
  const f = consoleFiles(home);
  if (!existsSync(f.enrollment)) return undefined;
  try {
    const enrollment = enrollmentSchema.parse(JSON.parse(readFileSync(f.enrollment, 'utf8')));
    const cert = readFileSync(f.cert, 'utf8');
    let key = readFileSync(f.key, 'utf8');
    if (!keyMatchesCertificate(key, cert) && existsSync(f.pendingKey)) {
      // A renewal stopped after writing the new certificate and before moving its key into place: finish it.
      const pending = readFileSync(f.pendingKey, 'utf8');
      if (keyMatchesCertificate(pending, cert)) {
        renameSync(f.pendingKey, f.key);
        key = pending;
      }
    }
    return { enrollment, key, cert, ca: readFileSync(f.ca, 'utf8') };
  } catch (err) {
    throw new SandgateError(
      'CONSOLE_NOT_ENROLLED',
      `The console enrollment in ${f.dir} cannot be read (${(err as Error).message}); enroll again`,
    );
  }
}

/** Key, certificates first and the enrollment file last: its presence is what says "enrolled". */
export async function writeCredentials(home: string, c: ConsoleCredentials): Promise<void> {
  ensureConsoleDir(home);
  const f = consoleFiles(home);
  await writeFileAtomic(f.key, c.key, 0o600);
  await writeFileAtomic(f.cert, c.cert, 0o600);
  await writeFileAtomic(f.ca, c.ca, 0o600);
  // A new enrollment starts delivery and policy from scratch for the new agent id.
  await writeFileAtomic(f.cursor, JSON.stringify({ agentId: c.enrollment.agentId, offset: 0 }) + '\n', 0o600);
  await writeFileAtomic(f.policyState, JSON.stringify({ agentId: c.enrollment.agentId, revision: 0 }) + '\n', 0o600);
  await writeFileAtomic(f.enrollment, JSON.stringify(c.enrollment, null, 2) + '\n', 0o600);
  // A renewal key left from an earlier enrollment belongs to another agent id.
  rmSync(f.pendingKey, { force: true });
}

/** Whether the PEM private key is the one the PEM certificate certifies (false for anything unreadable). */
export function keyMatchesCertificate(keyPem: string, certPem: string): boolean {
  try {
    const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
    return spki(createPublicKey(keyPem)).equals(spki(new X509Certificate(certPem).publicKey));
  } catch {
    return false;
  }
}

const stateSchema = lazySchema(() =>
  z.object({
    agentId: z.string(),
    offset: z.number().int().nonnegative().optional(),
    revision: z.number().int().nonnegative().optional(),
  }),
);

/** A small JSON state file bound to one agent id: a file left from an earlier enrollment counts as absent. */
export function readState(file: string, agentId: string): { offset: number; revision: number } {
  try {
    const s = stateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    if (s.agentId === agentId) return { offset: s.offset ?? 0, revision: s.revision ?? 0 };
  } catch {
    // missing or unreadable: start from the beginning
  }
  return { offset: 0, revision: 0 };
}

export async function writeState(file: string, agentId: string, value: { offset?: number; revision?: number }): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ agentId, ...value }) + '\n', 0o600);
}
