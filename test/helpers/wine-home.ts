import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSelfSigned } from './pki.ts';
import { winPath } from './wine-node.ts';

/**
 * A SANDGATE_HOME for a Windows process under Wine: a temp folder on the Linux side (seen as `Z:\…`), with a policy
 * naming one sandbox server that is never there (these tests are about the Windows side, not the sandbox).
 */
export interface WineHome {
  root: string;
  /** The home as Linux sees it. */
  home: string;
  /** The same folder as the Windows program sees it. */
  winHome: string;
  /** Where the Windows processes' output files go. */
  outDir: string;
  close(): void;
}

export function makeWineHome(): WineHome {
  const root = mkdtempSync(join(tmpdir(), 'sandgate-wine-'));
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true });
  const cert = makeSelfSigned();
  writeFileSync(join(home, 'server.pem'), cert.cert);
  const policy = {
    sandbox: { servers: [{ url: 'https://127.0.0.1:9', token: 't' }], serverCertificate: winPath(join(home, 'server.pem')) },
    response: { quarantine: true },
  };
  writeFileSync(join(home, 'policy.json'), JSON.stringify(policy, null, 2));
  return {
    root,
    home,
    winHome: winPath(home),
    outDir: join(root, 'out'),
    close: () => rmSync(root, { recursive: true, force: true }),
  };
}
