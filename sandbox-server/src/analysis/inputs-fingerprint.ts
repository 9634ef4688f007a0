import { createHash } from 'node:crypto';
import type { Engine } from '../engines/engine.ts';
import { LAB_VERSION } from '../version.ts';

/**
 * One fingerprint for everything a verdict depends on besides the object: the lab's version (its engines' code), which
 * engines ran, and each engine's own inputs (blocklist entries, YARA rule files). A stored verdict whose fingerprint is
 * not the current one was judged by a lab that knew less (or differently), so it is judged again before anyone is
 * told it; otherwise whoever submits a file first, before its hash or a rule for it is added, fixes its verdict.
 */
export function inputsFingerprint(parts: { engine: string; inputs: string | undefined }[]): string {
  const canonical = JSON.stringify([LAB_VERSION, parts.map((p) => [p.engine, p.inputs ?? ''])]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The fingerprint the engines would judge with now (each reloads its inputs if they changed on disk). */
export async function currentInputs(engines: Engine[]): Promise<string> {
  const inputs = await Promise.all(engines.map((e) => e.inputs?.()));
  return inputsFingerprint(engines.map((e, i) => ({ engine: e.name, inputs: inputs[i] })));
}
