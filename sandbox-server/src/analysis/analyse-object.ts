import { createHash } from 'node:crypto';
import { constants, createReadStream, promises as fsp } from 'node:fs';
import type { Indicator, LabVerdict } from '@sandgate/shared';
import type { Engine, ObjectInfo } from '../engines/engine.ts';
import { combineVerdict } from './combine-verdict.ts';
import { inputsFingerprint } from './inputs-fingerprint.ts';

const CHUNK = 1024 * 1024;

export class AnalysisAborted extends Error {
  constructor() {
    super('analysis aborted');
    this.name = 'AnalysisAborted';
  }
}

export interface ObjectJudgement {
  verdict: LabVerdict;
  /** The fingerprint of the engines' inputs this verdict was judged with (inputs-fingerprint.ts). */
  inputs: string;
}

/**
 * Reads the stored object once, in 1 MiB chunks, feeding every engine and the digests from the same pass. The
 * SHA-256 is checked again against the one computed at upload, so the verdict is about exactly those bytes.
 */
export async function analyseObject(path: string, object: ObjectInfo, engines: Engine[], signal?: AbortSignal): Promise<ObjectJudgement> {
  const scans = await Promise.all(engines.map((e) => e.open(object)));
  // Taken from the scans, not asked again: the fingerprint is of exactly the rules and list these scans hold.
  const inputs = inputsFingerprint(engines.map((e, i) => ({ engine: e.name, inputs: scans[i]!.inputs })));
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  let size = 0;
  const fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  const stream = createReadStream('', { fd: fh, highWaterMark: CHUNK });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw new AnalysisAborted();
      sha256.update(chunk);
      sha1.update(chunk);
      md5.update(chunk);
      size += chunk.length;
      for (const s of scans) s.update(chunk);
    }
  } finally {
    stream.destroy();
  }
  const digest = sha256.digest('hex');
  if (digest !== object.sha256 || size !== object.size) {
    throw new Error(`stored object changed: expected ${object.sha256} (${object.size} bytes), read ${digest} (${size} bytes)`);
  }
  const findings = [];
  for (const s of scans) findings.push(await s.finish());
  const indicators: Indicator[] = [
    { type: 'sha256', value: digest },
    { type: 'sha1', value: sha1.digest('hex') },
    { type: 'md5', value: md5.digest('hex') },
    { type: 'size', value: String(size) },
  ];
  if (object.fileName) indicators.push({ type: 'file-name', value: object.fileName.slice(0, 1024) });
  return { verdict: combineVerdict(findings, indicators), inputs };
}
