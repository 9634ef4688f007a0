import { existsSync } from 'node:fs';
import { renewalDueAt } from './cert-renewal.ts';
import type { ConsoleSession } from './console-session.ts';

/** Renews at start when due (or when a renewal was left unfinished), then looks again every `everyMs`. */
export async function renewLoop(session: ConsoleSession, pendingKeyFile: string, everyMs: number): Promise<void> {
  while (!session.stopped) {
    const due = renewalDueAt(session.credentials.cert);
    const before = session.certificateGeneration;
    if (existsSync(pendingKeyFile)) await session.renew('a renewal was left unfinished');
    else if (Date.now() >= due.getTime()) await session.renew(`the certificate is due for renewal since ${due.toISOString()}`);
    if (session.certificateGeneration !== before) await session.heartbeatNow();
    await session.sleep(everyMs);
  }
}
