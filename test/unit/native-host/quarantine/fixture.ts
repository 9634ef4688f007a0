import { mkdtempSync, realpathSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Provenance, Verdict } from '@sandgate/shared';

/** A throw-away SANDGATE_HOME and a Downloads folder beside it, both under the real (link-free) temp folder. */
export interface QuarantineFixture {
  root: string;
  home: string;
  downloads: string;
  cleanup(): void;
}

export function makeFixture(): QuarantineFixture {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-q-')));
  const home = join(root, 'home');
  const downloads = join(root, 'Downloads');
  mkdirSync(downloads);
  return { root, home, downloads, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');
export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
export const verdict: Verdict = { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://127.0.0.1:8443', score: 100 };
export const provenance: Provenance = {
  source: 'browser',
  browser: 'chromium',
  downloadId: 7,
  url: 'https://example.test/eicar.com',
  finalUrl: 'https://cdn.example.test/eicar.com',
  referrer: 'https://example.test/',
};

export function writeDownload(dir: string, name: string, content: Buffer, mode = 0o640): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}
