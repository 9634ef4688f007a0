import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PolicyInput } from '@sandgate/shared';
import { loadPolicyFile, type LoadedPolicy } from '../../../../native-host/src/config/load-policy.ts';
import { startLab, type RunningLab } from '../../../../sandbox-server/src/lab-server.ts';

export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
export const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** A real sandgate-lab on a free loopback port, with its own self-signed certificate. */
export function lab(dir: string): Promise<RunningLab> {
  return startLab({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'lab') });
}

/** The policy file an administrator would write, loaded the way `sandgate serve` loads it. */
export async function policyFor(dir: string, l: RunningLab, extra: Partial<PolicyInput> = {}): Promise<LoadedPolicy> {
  const path = join(dir, 'policy.json');
  writeFileSync(path, JSON.stringify({ sandbox: { servers: [{ url: l.url }], serverCertificate: l.certPath }, ...extra }));
  return loadPolicyFile(path);
}

/** An OpenIOC 1.1 file hunting one SHA-256 (no size or name term: every file in scope has to be read). */
export function hashIoc(hex: string, id = 'hash-hunt'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="${id}" last-modified="2026-11-01T00:00:00Z">
  <metadata><short_description>one hash</short_description><authored_by>test</authored_by></metadata>
  <criteria>
    <Indicator operator="OR" id="i1">
      <IndicatorItem id="t1" condition="is"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="sha256">${hex}</Content></IndicatorItem>
      <IndicatorItem id="t2" condition="is"><Context document="FileItem" search="FileItem/PEInfo/DigitalSignature/SignatureExists" type="mir"/><Content type="bool">false</Content></IndicatorItem>
    </Indicator>
  </criteria>
</OpenIOC>
`;
}

/** `n` small distinct files spread over nested folders, returned in no particular order. */
export function makeTree(root: string, n: number): string[] {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(root, `d${i % 7}`, `s${i % 13}`, `f${String(i).padStart(5, '0')}.dat`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, `file ${i}\n`);
    paths.push(p);
  }
  return paths;
}

export async function until<T>(probe: () => T | undefined | false): Promise<T> {
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}
