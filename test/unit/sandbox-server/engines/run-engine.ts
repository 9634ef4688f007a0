import { createHash } from 'node:crypto';
import type { Engine, EngineFinding, ObjectInfo } from '#lab/engines/engine.ts';

/** Feeds `data` to an engine in chunks of `chunkSize`, as the analyser does, and returns its finding. */
export async function runEngine(
  engine: Engine,
  data: Buffer,
  opts: { chunkSize?: number; fileName?: string } = {},
): Promise<EngineFinding> {
  const info: ObjectInfo = {
    sha256: createHash('sha256').update(data).digest('hex'),
    size: data.length,
    ...(opts.fileName ? { fileName: opts.fileName } : {}),
  };
  const scan = await engine.open(info);
  const step = opts.chunkSize ?? 64 * 1024;
  for (let i = 0; i < data.length; i += step) scan.update(data.subarray(i, i + step));
  return scan.finish();
}

export function levelOf(f: EngineFinding): string {
  const order = ['unknown', 'clean', 'suspicious', 'malicious'];
  return f.results.reduce((acc, r) => (order.indexOf(r.level) > order.indexOf(acc) ? r.level : acc), 'unknown');
}
